package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/charmbracelet/x/term"
	"github.com/muesli/cancelreader"
	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/tui"
)

// escapeByte is Ctrl-], the key that leaves the VM's serial console (as in
// telnet and virsh console): inside the guest every other key, Ctrl-C
// included, belongs to the guest.
const escapeByte = 0x1d

// nativeShell prepares the probe's shell mode on one side: busybox sh on the
// VM's serial console, or in the container's namespaces. The lab runs it on
// the terminal while its own screen is suspended.
// ctx ends the shell early (the lab is being stopped).
func nativeShell(ctx context.Context, opt compare.Options, side event.Side) (tui.ShellCommand, error) {
	switch side {
	case event.VM:
		return &vmShell{ctx: ctx, opt: opt}, nil
	case event.Container:
		return &ctShell{ctx: ctx, opt: opt}, nil
	}
	return nil, fmt.Errorf("no side %q", side)
}

// stdio holds what bubbletea hands a command it runs on the terminal.
type stdio struct {
	in          io.Reader
	out, errOut io.Writer
}

func (s *stdio) SetStdin(r io.Reader)  { s.in = r }
func (s *stdio) SetStdout(w io.Writer) { s.out = w }
func (s *stdio) SetStderr(w io.Writer) { s.errOut = w }

// ctShell runs the probe with --mode shell in a fresh container. The
// terminal is passed to the container as it is (an *os.File goes to the
// child directly), so busybox sh gets a real tty; `exit` ends it.
type ctShell struct {
	stdio
	ctx context.Context
	opt compare.Options
}

func (c *ctShell) Escape() string { return "" }

func (c *ctShell) Run() error {
	res, err := container.Run(c.ctx, container.Spec{
		Rootfs: c.opt.Guest.Rootfs,
		Args:   []string{"/init", "--mode", "shell"},
		Stdin:  c.in, Stdout: c.out, Stderr: c.errOut,
	})
	if err != nil {
		return fmt.Errorf("container shell: %w", err)
	}
	if res.Reason != container.ReasonExited {
		return fmt.Errorf("the probe ended %s", res.Reason)
	}
	return nil
}

// vmShell boots the lab VM with twinboot.mode=shell and wires the terminal,
// in raw mode, to its serial port: the guest's own tty does the echo and
// line editing. Ctrl-] stops the VM; `exit` makes the probe power it off.
type vmShell struct {
	stdio
	ctx context.Context
	opt compare.Options
}

func (v *vmShell) Escape() string { return "Ctrl-]" }

func (v *vmShell) Run() error {
	ctx, cancel := context.WithCancel(v.ctx)
	defer cancel()

	in := v.in
	// The hypervisor reads its input until the reader fails. Reading the
	// terminal directly would leave that read pending after the VM ends and
	// steal the lab's next key press; a cancelable reader is released.
	if f, ok := v.in.(*os.File); ok {
		cr, err := cancelreader.NewReader(f)
		if err != nil {
			return fmt.Errorf("VM shell: %w", err)
		}
		defer cr.Close()
		defer cr.Cancel()
		in = cr
		if term.IsTerminal(f.Fd()) {
			st, err := term.MakeRaw(f.Fd())
			if err != nil {
				return fmt.Errorf("VM shell: raw terminal: %w", err)
			}
			defer term.Restore(f.Fd(), st)
		}
	}
	g := v.opt.Guest
	kernel := v.opt.Kernel
	if kernel == "" {
		kernel = g.BzImage
	}
	mem := v.opt.VMMemBytes
	if mem == 0 {
		mem = compare.DefaultVMMem
	}
	vm, err := hypervisor.New(hypervisor.Config{
		Kernel:   kernel,
		Initrd:   g.Initramfs,
		Cmdline:  strings.Replace(hypervisor.DefaultCmdline, "twinboot.mode=poweroff", "twinboot.mode=shell", 1),
		MemBytes: mem,
		Console:  v.out,
		Input:    &escapeReader{r: in, stop: cancel},
	})
	if err != nil {
		return fmt.Errorf("VM shell: %w", err)
	}
	defer vm.Close()
	if _, err := vm.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("VM shell: %w", err)
	}
	return nil
}

// escapeReader passes keys through until Ctrl-], which stops the VM.
type escapeReader struct {
	r    io.Reader
	stop context.CancelFunc
}

func (e *escapeReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == escapeByte {
			e.stop()
			return i, io.EOF
		}
	}
	return n, err
}

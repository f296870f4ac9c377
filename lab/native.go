package lab

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/hypervisor/vmm"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/nested"
)

// Native runs the experiments in this process, on this host's /dev/kvm
// (each VM in a VMM process of its own) and this host's kernel.
type Native struct {
	Options compare.Options
	// NetShells puts each shell's side on a lab network of its own with
	// the other side serving beside it (compare.OnNet's Peer), so that the
	// shell can ping and wget it by name.
	NetShells bool
}

func (n *Native) Run(ctx context.Context, sink event.Sink) error {
	_, err := compare.RunOnce(ctx, n.Options, sink)
	return err
}

func (n *Native) Net(ctx context.Context, sink event.Sink) error {
	_, err := compare.RunNet(ctx, compare.NetOptions{Options: n.Options}, sink)
	return err
}

func (n *Native) Bench(ctx context.Context, runs int, sink event.Sink) error {
	o := n.Options
	o.Runs = runs
	_, err := compare.Bench(ctx, o, sink)
	return err
}

// Shell prepares the probe's shell mode on one side: busybox sh on the VM's
// serial console, or in the container's namespaces. The lab runs it on the
// terminal while its own screen is suspended; ctx ends it early (the lab is
// being stopped).
func (n *Native) Shell(ctx context.Context, side event.Side) (Shell, error) {
	switch side {
	case event.VM:
		return &vmShell{ctx: ctx, opt: n.Options, net: n.NetShells}, nil
	case event.Container:
		return &ctShell{ctx: ctx, opt: n.Options, net: n.NetShells}, nil
	}
	return nil, fmt.Errorf("no side %q", side)
}

func (n *Native) Export(_ context.Context, res compare.Results, dir string) ([]string, error) {
	return Export(res, dir)
}

// stdio holds what bubbletea hands a command it runs on the terminal, and
// the keys read from it that the shell's far side never took.
type stdio struct {
	in          io.Reader
	out, errOut io.Writer
	unread      []byte
}

// Unread returns the keys typed as the shell ended (see Unreader).
func (s *stdio) Unread() []byte { return s.unread }

func (s *stdio) SetStdin(r io.Reader)  { s.in = r }
func (s *stdio) SetStdout(w io.Writer) { s.out = w }
func (s *stdio) SetStderr(w io.Writer) { s.errOut = w }

// told prints the shell's place on the lab network before its prompt.
func (s *stdio) told(n compare.NetInfo) {
	if s.errOut != nil {
		fmt.Fprintf(s.errOut, "twinboot: %s; beside it, serving: %s and %s (port 8080)\r\n", n, compare.VMHostname, compare.ContainerHostname)
	}
}

// ctShell runs the probe in shell mode in a fresh container. The terminal
// is passed to the container as it is (an *os.File goes to the child
// directly), so busybox sh gets a real tty; `exit` ends it.
type ctShell struct {
	stdio
	ctx context.Context
	opt compare.Options
	net bool
}

func (c *ctShell) Escape() string { return "" }

func (c *ctShell) Run() error {
	spec := container.Spec{
		Rootfs: c.opt.Guest.Rootfs,
		Args:   report.Args(report.ModeShell, -1),
		Stdin:  c.in, Stdout: c.out, Stderr: c.errOut,
	}
	var res container.Result
	var err error
	if c.net {
		spec.Hostname = compare.ContainerHostname
		res, err = compare.ContainerOnNet(c.ctx, spec, compare.OnNet{Peer: &c.opt, Told: c.told})
	} else {
		res, err = container.Run(c.ctx, spec)
	}
	if err != nil {
		return fmt.Errorf("container shell: %w", err)
	}
	if res.Reason != container.ReasonExited {
		return fmt.Errorf("the probe ended %s", res.Reason)
	}
	return nil
}

// ShellCmdline is the lab kernel's command line with the probe in shell
// mode: busybox sh on the serial console instead of a power-off.
var ShellCmdline = report.Cmdline(hypervisor.DefaultCmdline, report.ModeShell, -1)

// vmShell boots the lab VM in shell mode and wires the terminal, in raw
// mode, to its serial port: the guest's own tty does the echo and line
// editing. Ctrl-] stops the VM; `exit` makes the probe power it off.
type vmShell struct {
	stdio
	ctx context.Context
	opt compare.Options
	net bool
}

func (v *vmShell) Escape() string { return "Ctrl-]" }

func (v *vmShell) Run() error {
	ctx, cancel := context.WithCancel(v.ctx)
	defer cancel()
	// The VMM reads its input until the reader fails. Reading the terminal
	// directly would leave that read pending after the VM ends and steal
	// the lab's next key press: OpenKeys gives a reader that is released.
	keys, err := nested.OpenKeys(v.in)
	if err != nil {
		return fmt.Errorf("VM shell: %w", err)
	}
	defer func() {
		keys.Close()
		v.unread = append(v.unread, keys.Late()...)
	}()
	g := v.opt.Guest
	kernel := v.opt.Kernel
	if kernel == "" {
		kernel = g.BzImage
	}
	mem := v.opt.VMMemBytes
	if mem == 0 {
		mem = compare.DefaultVMMem
	}
	cfg := hypervisor.Config{
		Kernel:   kernel,
		Initrd:   g.Initramfs,
		Cmdline:  ShellCmdline,
		MemBytes: mem,
		Console:  v.out,
		Input:    &nested.EscapeReader{R: keys.R, Stop: cancel},
	}
	if v.net {
		_, err = compare.VMOnNet(ctx, cfg, compare.VMHostname, compare.OnNet{Peer: &v.opt, Told: v.told})
	} else {
		_, err = vmm.Run(ctx, cfg)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("VM shell: %w", err)
	}
	return nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/charmbracelet/x/term"
	"github.com/muesli/cancelreader"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/nested"
	"golang.org/x/sys/unix"
)

// shellCmdline is the lab kernel's command line with the probe in shell
// mode: busybox sh on the serial console instead of a power-off.
var shellCmdline = strings.Replace(hypervisor.DefaultCmdline, "twinboot.mode=poweroff", "twinboot.mode=shell", 1)

// nestedShellJob is the L1 job that serves a shell in side: the same
// probe shell mode as natively, started by twinboot inside L1.
//
// The VM's guest has its own tty (on its serial port), which echoes and
// edits lines, so the keys go to `twinboot vm --stdin` through a plain pipe.
// The container has no terminal of its own in L1, so the job runs on a pty
// there: busybox sh then sees a terminal, and the pty's line discipline
// turns Enter into a newline and Ctrl-C into SIGINT, as natively.
func nestedShellJob(side event.Side) (nested.Job, error) {
	switch side {
	case event.VM:
		return nested.Job{Args: []string{"vm", "--stdin", "--timeout=0", "--cmdline=" + shellCmdline}}, nil
	case event.Container:
		// --read-only: no overlayfs needed, whatever L1's kernel loads.
		return nested.Job{Args: []string{"ct", "run", "--read-only", "--timeout=0", "--", "/init", "--mode", "shell"}, TTY: true, FreeTTY: true}, nil
	}
	return nested.Job{}, fmt.Errorf("no side %q", side)
}

// nestedShell is the lab's shell in nested mode. The terminal stays on this
// host in raw mode; every key travels to L1 in an input frame, and what the
// shell prints comes back in output frames. Ctrl-] is caught here, on the
// host, for both sides: it asks L1 to stop the job, and L1 stays up for the
// next run.
type nestedShell struct {
	stdio
	ctx  context.Context
	lab  *nestedLab
	side event.Side
}

func (c *nestedShell) Escape() string { return "Ctrl-]" }

func (c *nestedShell) Run() error {
	job, err := nestedShellJob(c.side)
	if err != nil {
		return err
	}
	s, err := c.lab.session(c.ctx, nil)
	if err != nil {
		return fmt.Errorf("the lab machine: %w", err)
	}
	keys, err := openKeys(c.in)
	if err != nil {
		return fmt.Errorf("%s shell: %w", c.side, err)
	}
	defer keys.close()
	stop := make(chan struct{})
	var once sync.Once
	job.Stdin = &escapeReader{r: keys.r, stop: func() { once.Do(func() { close(stop) }) }}
	job.Stop = stop
	job.Rows, job.Cols = termSize(c.out)
	job.Env = termEnv()
	var tail lastLines
	job.Stdout = c.out
	job.Stderr = io.MultiWriter(c.errOut, &tail)
	if c.side == event.VM {
		// The guest console arrives on stderr; stdout would only carry
		// the run's summary, printed after the screen is back.
		job.Stdout = io.Discard
		job.Stderr = io.MultiWriter(c.out, &tail)
	}
	c.lab.useMu.Lock()
	code, err := s.Run(c.ctx, job)
	c.lab.useMu.Unlock()
	if err != nil {
		c.lab.dropSession()
		return fmt.Errorf("%s shell: %w", c.side, err)
	}
	// A container's status is its shell's (`exit 3`), which is the
	// student's business. twinboot vm, though, exits 0 whatever the guest's
	// shell said, so anything else is a failure to report.
	if c.side == event.VM && code != 0 {
		select {
		case <-stop:
		default:
			return fmt.Errorf("VM shell: twinboot vm in the lab machine exited with status %d: %s", code, tail.String())
		}
	}
	return nil
}

// keyInput is a terminal (or any reader) prepared for relaying key presses.
type keyInput struct {
	r     io.Reader
	close func()
	tty   bool
}

// openKeys makes in ready to relay: a terminal is put in raw mode (the far
// side's tty does echo and line editing; Ctrl-C must reach it as a byte),
// and an *os.File is read through a cancelable reader, so that no read is
// left pending on it when the shell ends (it would steal the lab's next key).
// close undoes both.
func openKeys(in io.Reader) (*keyInput, error) {
	k := &keyInput{r: in, close: func() {}}
	f, ok := in.(*os.File)
	if !ok {
		return k, nil
	}
	cr, err := cancelreader.NewReader(f)
	if err != nil {
		return nil, err
	}
	k.r = cr
	var restore func()
	if term.IsTerminal(f.Fd()) {
		restore, err = rawInput(int(f.Fd()))
		if err != nil {
			cr.Close()
			return nil, fmt.Errorf("raw terminal: %w", err)
		}
		k.tty = true
	}
	k.close = func() {
		cr.Cancel()
		cr.Close()
		if restore != nil {
			restore()
		}
	}
	return k, nil
}

// rawInput makes the terminal's input raw: every key, Ctrl-C included, is
// delivered as a byte at once and not echoed. Unlike a full raw mode it
// keeps output processing, so a bare "\n" from L1 (twinboot's own messages)
// still starts its line at the left margin.
func rawInput(fd int) (restore func(), err error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	t := *old
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &t); err != nil {
		return nil, err
	}
	return func() { unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}

// termSize is w's size when it is a terminal, else 0, 0 (L1 then uses
// 24x80).
func termSize(w io.Writer) (rows, cols uint16) {
	f, ok := w.(*os.File)
	if !ok {
		return 0, 0
	}
	c, r, err := term.GetSize(f.Fd())
	if err != nil || r <= 0 || c <= 0 || r > 0xffff || c > 0xffff {
		return 0, 0
	}
	return uint16(r), uint16(c)
}

// termEnv passes the host's TERM to a shell in L1 (jobs there default to
// "dumb").
func termEnv() []string {
	if t := os.Getenv("TERM"); t != "" {
		return []string{"TERM=" + t}
	}
	return nil
}

package lab

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/tail"
	"github.com/twinboot/twinboot/nested"
)

// Nested runs each experiment as `twinboot run` or `twinboot bench` inside
// one L1 machine, booted on first use and kept for the next r or b: an L1
// boot costs far more than a run. A cancelled job kills QEMU (that is how
// nested cleans up), so the next job boots a fresh L1. Close powers it off.
type Nested struct {
	l1 *nested.L1
	// NetShells: as Native's, in L1 (`vm --net --net-peer`, `ct run --net
	// --net-peer`).
	NetShells bool
}

// NewNested returns the nested-mode engine; opt configures its L1.
func NewNested(opt nested.Options) *Nested { return &Nested{l1: nested.New(opt)} }

func (n *Nested) Run(ctx context.Context, sink event.Sink) error {
	_, err := InL1(ctx, n.l1, nested.Job{Args: []string{"run"}, Timeout: Timeout(1, 0)}, sink)
	return err
}

func (n *Nested) Bench(ctx context.Context, runs int, sink event.Sink) error {
	job := nested.Job{Args: []string{"bench", "--runs=" + strconv.Itoa(runs), "--warmup=0"}, Timeout: Timeout(runs, 0)}
	_, err := InL1(ctx, n.l1, job, sink)
	return err
}

// Net runs `twinboot run --net` in L1: the lab network lives there, and
// its NetDone event comes back over the transport.
func (n *Nested) Net(ctx context.Context, sink event.Sink) error {
	stderr := tail.New(4 << 10)
	code, err := n.l1.Run(ctx, nested.Job{Args: []string{"run", "--net"}, Sink: sink, Stderr: stderr, Timeout: Timeout(1, 0)})
	if err != nil {
		return fmt.Errorf("nested mode: %w", err)
	}
	if code != 0 {
		return fmt.Errorf("inside the nested-mode lab machine: %s", strings.TrimPrefix(stderr.Join(1), "twinboot run: "))
	}
	return nil
}

// Shell boots L1 if needed (the lab says "opening a shell…" meanwhile), and
// returns a shell whose keys travel into L1 over the transport.
func (n *Nested) Shell(ctx context.Context, side event.Side) (Shell, error) {
	if side != event.VM && side != event.Container {
		return nil, fmt.Errorf("no side %q", side)
	}
	if _, err := n.l1.Boot(ctx, nil); err != nil {
		return nil, fmt.Errorf("the lab machine: %w", err)
	}
	return &nestedShell{ctx: ctx, l1: n.l1, side: side, net: n.NetShells}, nil
}

func (n *Nested) Export(_ context.Context, res compare.Results, dir string) ([]string, error) {
	return Export(res, dir)
}

// Close powers L1 off and removes its temporary files.
func (n *Nested) Close() error { return n.l1.Close() }

// shellJob is the L1 job that serves a shell in side: the same probe shell
// mode as natively, started by twinboot inside L1.
//
// The VM's guest has its own tty (on its serial port), which echoes and
// edits lines, so the keys go to `twinboot vm --stdin` through a plain pipe.
// The container has no terminal of its own in L1, so the job runs on a pty
// there: busybox sh then sees a terminal, and the pty's line discipline
// turns Enter into a newline and Ctrl-C into SIGINT, as natively.
func shellJob(side event.Side, net bool) (nested.Job, error) {
	switch side {
	case event.VM:
		args := []string{"vm", "--stdin", "--timeout=0", "--cmdline=" + ShellCmdline}
		if net {
			args = append(args, "--net", "--net-peer")
		}
		return nested.Job{Args: args}, nil
	case event.Container:
		// --read-only: no overlayfs needed, whatever L1's kernel loads;
		// on the lab network the root must be writable for /etc/hosts (L1
		// loads overlay).
		args := []string{"ct", "run", "--read-only", "--timeout=0"}
		if net {
			args = []string{"ct", "run", "--timeout=0", "--net", "--net-peer", "--hostname=" + compare.ContainerHostname}
		}
		args = append(append(args, "--"), report.Args(report.ModeShell, -1)...)
		return nested.Job{Args: args, TTY: true, FreeTTY: true}, nil
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
	l1   *nested.L1
	side event.Side
	net  bool
}

func (c *nestedShell) Escape() string { return "Ctrl-]" }

func (c *nestedShell) Run() error {
	job, err := shellJob(c.side, c.net)
	if err != nil {
		return err
	}
	stop, keys, err := nested.Interactive(&job, c.in, c.out)
	if err != nil {
		return fmt.Errorf("%s shell: %w", c.side, err)
	}
	// Keys typed as the shell ends (sent to L1 too late, or read as the
	// reader stopped) come back, for the lab to act on.
	job.Unread = func(b []byte) { c.unread = append(c.unread, b...) }
	defer func() {
		keys.Close()
		c.unread = append(c.unread, keys.Late()...)
	}()
	last := tail.New(4 << 10)
	job.Stdout = c.out
	job.Stderr = io.MultiWriter(c.errOut, last)
	if c.side == event.VM {
		// The guest console arrives on stderr; stdout would only carry
		// the run's summary, printed after the screen is back.
		job.Stdout = io.Discard
		job.Stderr = io.MultiWriter(c.out, last)
	}
	code, err := c.l1.Run(c.ctx, job)
	if err != nil {
		return fmt.Errorf("%s shell: %w", c.side, err)
	}
	// A container's status is its shell's (`exit 3`), which is the
	// student's business. twinboot vm, though, exits 0 whatever the guest's
	// shell said, so anything else is a failure to report.
	if c.side == event.VM && code != 0 {
		select {
		case <-stop:
		default:
			return fmt.Errorf("VM shell: twinboot vm in the lab machine exited with status %d: %s", code, last.Join(3))
		}
	}
	return nil
}

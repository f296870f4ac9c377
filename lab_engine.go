package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/nested"
	"github.com/twinboot/twinboot/tui"
)

// labEngine adapts the engine to the lab's tui.Engine. Export is the same
// for every mode: the results document is written on this host.
type labEngine struct {
	run   func(ctx context.Context, sink event.Sink) error
	bench func(ctx context.Context, runs int, sink event.Sink) error
	shell func(ctx context.Context, side event.Side) (tui.ShellCommand, error)
}

func (e *labEngine) Run(ctx context.Context, sink event.Sink) error { return e.run(ctx, sink) }
func (e *labEngine) Bench(ctx context.Context, runs int, sink event.Sink) error {
	return e.bench(ctx, runs, sink)
}
func (e *labEngine) Shell(ctx context.Context, side event.Side) (tui.ShellCommand, error) {
	return e.shell(ctx, side)
}
func (e *labEngine) Export(_ context.Context, res compare.Results, dir string) ([]string, error) {
	return exportResults(res, dir)
}

// exportResults writes results.json, results.csv and the charts into dir.
func exportResults(res compare.Results, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	var files []string
	write := func(name string, fn func(io.Writer) error) error {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := fn(f); err != nil {
			f.Close()
			return fmt.Errorf("export %s: %w", p, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("export %s: %w", p, err)
		}
		files = append(files, p)
		return nil
	}
	if err := write("results.json", func(w io.Writer) error { return compare.WriteJSON(w, res) }); err != nil {
		return files, err
	}
	if err := write("results.csv", func(w io.Writer) error { return compare.WriteCSV(w, compare.Rows(res)) }); err != nil {
		return files, err
	}
	charts, err := compare.Charts(res, dir, []string{"svg", "png"})
	files = append(files, charts...)
	if err != nil {
		return files, fmt.Errorf("export charts: %w", err)
	}
	return files, nil
}

// newNativeLab runs the engine in this process, on this host's /dev/kvm.
func newNativeLab(opt compare.Options) *labEngine {
	return &labEngine{
		run: func(ctx context.Context, sink event.Sink) error {
			_, err := compare.RunOnce(ctx, opt, sink)
			return err
		},
		bench: func(ctx context.Context, runs int, sink event.Sink) error {
			o := opt
			o.Runs = runs
			_, err := compare.Bench(ctx, o, sink)
			return err
		},
		shell: func(ctx context.Context, side event.Side) (tui.ShellCommand, error) {
			return nativeShell(ctx, opt, side)
		},
	}
}

// nestedLab runs each experiment as `twinboot lab --inner …` inside one L1
// machine, booted on first use and kept for the next r or b: an L1 boot
// costs far more than a run. A cancelled job kills QEMU (that is how nested
// cleans up), so the next job boots a fresh L1.
type nestedLab struct {
	opt nested.Options

	sinkMu sync.Mutex
	sink   event.Sink // the current job's sink, for L1's own progress

	mu sync.Mutex // guards m and s; never held while L1 reports progress
	m  *nested.Machine
	s  *nested.Session

	// bootMu makes one caller boot L1 while another (r pressed while a
	// shell is being opened) waits for that boot. useMu is held while a job
	// runs in L1: a session relays one job at a time.
	bootMu sync.Mutex
	useMu  sync.Mutex
}

func newNestedLab(opt nested.Options) *nestedLab {
	n := &nestedLab{}
	opt.Sink = func(ev event.Event) {
		n.sinkMu.Lock()
		s := n.sink
		n.sinkMu.Unlock()
		s.Emit(ev)
	}
	n.opt = opt
	return n
}

func (n *nestedLab) Run(ctx context.Context, sink event.Sink) error {
	return n.job(ctx, sink, "run", 1)
}

func (n *nestedLab) Bench(ctx context.Context, runs int, sink event.Sink) error {
	return n.job(ctx, sink, "bench", runs)
}

// Shell boots L1 if needed (the lab says "opening a shell…" meanwhile), and
// returns a shell whose keys travel into L1 over the transport.
func (n *nestedLab) Shell(ctx context.Context, side event.Side) (tui.ShellCommand, error) {
	if side != event.VM && side != event.Container {
		return nil, fmt.Errorf("no side %q", side)
	}
	if _, err := n.session(ctx, nil); err != nil {
		return nil, fmt.Errorf("the lab machine: %w", err)
	}
	return &nestedShell{ctx: ctx, lab: n, side: side}, nil
}

func (n *nestedLab) Export(_ context.Context, res compare.Results, dir string) ([]string, error) {
	return exportResults(res, dir)
}

func (n *nestedLab) job(ctx context.Context, sink event.Sink, what string, runs int) error {
	n.sinkMu.Lock()
	n.sink = sink
	n.sinkMu.Unlock()
	defer func() {
		n.sinkMu.Lock()
		n.sink = nil
		n.sinkMu.Unlock()
	}()
	s, err := n.session(ctx, sink)
	if err != nil {
		return err
	}
	args := []string{"lab", "--inner=" + what, "--runs=" + strconv.Itoa(runs)}
	n.mu.Lock()
	if k := n.m.Kernel; k.Package != "" {
		args = append(args, "--l1-kernel="+k.Package+" "+k.Version)
	}
	n.mu.Unlock()
	var stderr lastLines
	n.useMu.Lock()
	code, err := s.Run(ctx, nested.Job{Args: args, Sink: sink, Stdout: io.Discard, Stderr: &stderr})
	n.useMu.Unlock()
	if err != nil {
		n.dropSession()
		return err
	}
	if code != 0 {
		return fmt.Errorf("%s in the lab machine exited with status %d: %s", what, code, stderr.String())
	}
	return nil
}

// session returns the running L1, preparing and booting it when needed.
func (n *nestedLab) session(ctx context.Context, sink event.Sink) (*nested.Session, error) {
	n.bootMu.Lock()
	defer n.bootMu.Unlock()
	n.mu.Lock()
	m, s := n.m, n.s
	n.mu.Unlock()
	if s != nil {
		return s, nil
	}
	if m == nil {
		sink.Emit(event.Log{Msg: "preparing the lab machine (L1: Debian kernel, kvm-amd, this twinboot)…"})
		var err error
		if m, err = nested.Prepare(ctx, n.opt); err != nil {
			return nil, err
		}
	}
	sink.Emit(event.Log{Msg: "booting the lab machine (L1) under QEMU software emulation; this takes a while…"})
	s, err := m.Boot(ctx)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.m = m
	if err != nil {
		return nil, err
	}
	n.s = s
	return s, nil
}

func (n *nestedLab) dropSession() {
	n.mu.Lock()
	s := n.s
	n.s = nil
	n.mu.Unlock()
	if s != nil {
		s.Close()
	}
}

// Close powers L1 off and removes its temporary files.
func (n *nestedLab) Close() error {
	n.dropSession()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.m != nil {
		err := n.m.Close()
		n.m = nil
		return err
	}
	return nil
}

// lastLines keeps the last few lines written, for error messages.
type lastLines struct {
	mu  sync.Mutex
	buf []byte
}

func (l *lastLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if len(l.buf) > 4096 {
		l.buf = l.buf[len(l.buf)-4096:]
	}
	return len(p), nil
}

func (l *lastLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(l.buf)), "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return strings.Join(lines, " | ")
}

package lab

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/tail"
	"github.com/twinboot/twinboot/nested"
)

// Experiment is one run or benchmark as a command asks for it: measured in
// this process, or, in nested mode, by the same command of the twinboot
// inside a freshly booted L1, whose results come back over the transport.
type Experiment struct {
	// Command is "run" (compare.RunOnce) or "bench" (compare.Bench).
	Command string
	// Options are the experiment, for a run in this process.
	Options compare.Options
	// Inner are the flags given to Command inside L1 (the experiment's, as
	// the command line set them), and Files the host files they name,
	// which go into L1 with the job.
	Inner []string
	Files []nested.File
}

// Where returns the mode and emulation flag that results measured by this
// process carry under d: inside L1 every figure is nested and emulated.
func Where(d host.Decision) (mode string, emulated bool) {
	if host.InsideL1() {
		return host.ModeNested, true
	}
	return d.Mode, d.Emulated()
}

// Run runs the experiment where d says and returns its results either way.
// Inside L1 the events also travel to the host (nested.EventTap).
func (e Experiment) Run(ctx context.Context, d host.Decision, sink event.Sink) (compare.Results, error) {
	engine := compare.RunOnce
	if e.Command == "bench" {
		engine = compare.Bench
	}
	if d.Mode == host.ModeNested && !host.InsideL1() {
		sink.Emit(event.Log{Msg: "mode nested: " + d.Reason})
		pairs := e.Options.Runs + e.Options.Warmup
		l := nested.New(nested.Options{Extra: e.Files, Peers: e.Options.Peers})
		defer l.Close()
		job := nested.Job{Args: append([]string{e.Command}, e.Inner...), Timeout: Timeout(pairs, e.Options.Timeout)}
		return InL1(ctx, l, job, sink)
	}
	return engine(ctx, e.Options, nested.Tee(nested.EventTap(), sink))
}

// Timeout bounds an experiment of pairs VM/container pairs in L1, with
// perBoot the bound of one boot: per pair the VM, the container and up to
// three peers, plus the baseline boot and L1's own boot.
func Timeout(pairs int, perBoot time.Duration) time.Duration {
	if perBoot <= 0 {
		perBoot = compare.DefaultTimeout
	}
	return 5*time.Minute + time.Duration(pairs+1)*5*perBoot
}

// InL1 runs job (twinboot run or bench) in l and returns the results the
// inner run sent (its Finished event), labelled nested and emulated, with
// the lab machine's kernel and this host's facts beside L1's. sink gets
// every event on the way, the Finished one labelled too. The host, not L1,
// renders and writes the results, so output files land here.
func InL1(ctx context.Context, l *nested.L1, job nested.Job, sink event.Sink) (compare.Results, error) {
	var (
		mu  sync.Mutex
		res *compare.Results
	)
	stderr := tail.New(4 << 10)
	job.Stderr = stderr
	job.Sink = func(ev event.Event) {
		if f, ok := ev.(compare.Finished); ok {
			f.Results = fromL1(f.Results, l.Machine())
			ev = f
			mu.Lock()
			r := f.Results
			res = &r
			mu.Unlock()
		}
		sink.Emit(ev)
	}
	code, err := l.Run(ctx, job)
	if err != nil {
		return compare.Results{}, fmt.Errorf("nested mode: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	innerErr := innerOutcome(code, stderr, job.Args[0], res != nil)
	if res == nil {
		return compare.Results{}, innerErr
	}
	return *res, innerErr
}

// innerOutcome is the error of a twinboot command run in L1 that exited
// with code, its stderr's last line saying why; got says whether it sent
// its results (a failed run may still have).
func innerOutcome(code int, stderr *tail.Buffer, command string, got bool) error {
	var err error
	if code != 0 {
		msg := strings.TrimPrefix(stderr.Join(1), "twinboot "+command+": ")
		if msg == "" {
			msg = fmt.Sprintf("exit status %d", code)
		}
		err = fmt.Errorf("inside the nested-mode lab machine: %s", msg)
	}
	if !got && err == nil {
		err = errors.New("inside the nested-mode lab machine: the run sent no results")
	}
	return err
}

// fromL1 labels results measured in L1.
func fromL1(r compare.Results, m *nested.Machine) compare.Results {
	r.Mode, r.Emulated = host.ModeNested, true
	if m != nil {
		r.Host.L1Kernel = strings.TrimSpace(m.Kernel.Package + " " + m.Kernel.Version)
	}
	outer := compare.HostFacts()
	r.Outer = &outer
	return r
}

package lab

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/density"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/tail"
	"github.com/twinboot/twinboot/nested"
)

// The lab's fleet (the efficiency lesson): N VMs and M containers started at
// once by package density, kept up, idle, until the lab stops them (or for
// density.MaxWindow at most), then stopped and measured.

func (n *Native) Fleet(ctx context.Context, vms, containers int, sink event.Sink) error {
	o := n.Options
	_, err := density.Run(ctx, density.Options{
		Guest: o.Guest, Kernel: o.Kernel, Initrd: o.Initrd,
		VMs: vms, Containers: containers, Window: density.MaxWindow,
		Mode: o.Mode, Emulated: o.Emulated,
	}, sink)
	return err
}

// Fleet runs `twinboot density` in the lab machine. Stopping it (ctx) asks
// L1 to end the job, whose fleet then stops and cleans up there, and keeps
// L1 up for the next run.
func (n *Nested) Fleet(ctx context.Context, vms, containers int, sink event.Sink) error {
	stop := make(chan struct{})
	go func() {
		<-ctx.Done()
		close(stop)
	}()
	job := nested.Job{Args: []string{"density", "--vms=" + strconv.Itoa(vms), "--containers=" + strconv.Itoa(containers),
		"--steps=1", "--window=" + density.MaxWindow.String(), "--format=json"}, Sink: sink, Stop: stop}
	stderr := tail.New(4 << 10)
	job.Stdout, job.Stderr = io.Discard, stderr
	code, err := n.l1.Run(context.WithoutCancel(ctx), job)
	if err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := innerOutcome(code, stderr, "density", true); err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	return nil
}

func (r *Replay) Fleet(context.Context, int, int, event.Sink) error {
	return fmt.Errorf("fleet: %w of %s (run the lab on a machine with the engine)", ErrReplay, r.Source)
}

func (r *Recorder) Fleet(ctx context.Context, vms, containers int, sink event.Sink) error {
	return r.Engine.Fleet(ctx, vms, containers, r.sink(sink))
}

// DensityInL1 runs `twinboot density` (job.Args, which must ask for
// --format=json) in a lab machine booted with opt, and returns the results
// its last event carried, labelled as measured in nested mode: the lab
// machine's kernel and RAM, this host's facts beside its. sink gets every
// event on the way. The host, not L1, renders and writes the results.
func DensityInL1(ctx context.Context, opt nested.Options, job nested.Job, sink event.Sink) (density.Results, error) {
	var (
		mu  sync.Mutex
		res *density.Results
	)
	stderr := tail.New(4 << 10)
	job.Stdout, job.Stderr = io.Discard, stderr
	job.Sink = func(ev event.Event) {
		if f, ok := ev.(density.Finished); ok {
			mu.Lock()
			r := f.Results
			res = &r
			mu.Unlock()
		}
		sink.Emit(ev)
	}
	if opt.Sink == nil {
		opt.Sink = sink
	}
	l := nested.New(opt)
	defer l.Close()
	code, err := l.Run(ctx, job)
	if err != nil {
		return density.Results{}, fmt.Errorf("nested mode: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	innerErr := innerOutcome(code, stderr, job.Args[0], res != nil)
	if res == nil {
		return density.Results{}, innerErr
	}
	r := *res
	r.Mode, r.Emulated = host.ModeNested, true
	r.L1MemBytes = uint64(max(opt.MemMB, 0)) << 20 // 0: nested's default, unrecorded
	outer := compare.HostFacts()
	r.Outer = &outer
	if m := l.Machine(); m != nil {
		r.Host.L1Kernel = strings.TrimSpace(m.Kernel.Package + " " + m.Kernel.Version)
	}
	return r, innerErr
}

package lab

import (
	"context"
	"fmt"
	"strconv"

	"github.com/twinboot/twinboot/density"
	"github.com/twinboot/twinboot/internal/event"
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
	code, err := n.l1.Run(context.WithoutCancel(ctx), job)
	if err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if code != 0 {
		return fmt.Errorf("fleet: twinboot density in the lab machine exited with status %d", code)
	}
	return nil
}

func (r *Replay) Fleet(context.Context, int, int, event.Sink) error {
	return fmt.Errorf("fleet: %w of %s (run the lab on a machine with the engine)", ErrReplay, r.Source)
}

func (r *Recorder) Fleet(ctx context.Context, vms, containers int, sink event.Sink) error {
	return r.Engine.Fleet(ctx, vms, containers, r.sink(sink))
}

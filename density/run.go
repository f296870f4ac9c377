package density

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/host"
)

// Run measures every step of the plan, one after the other, and returns the
// results: complete whatever happened, with ErrInstanceFailed when an
// instance did not reach READY (the others are still measured), or the
// context's error when it was cancelled (every instance is stopped and
// removed before Run returns, either way).
func Run(ctx context.Context, opt Options, sink event.Sink) (Results, error) {
	opt = opt.withDefaults()
	if err := opt.Validate(); err != nil {
		return Results{}, err
	}
	if opt.VMs > 0 && (opt.Kernel == "" || opt.Initrd == "") {
		return Results{}, fmt.Errorf("%w: no VM kernel or initramfs (%w)", ErrBadOptions, guest.ErrNotBuilt)
	}
	if opt.Containers > 0 && opt.Guest.Rootfs == "" {
		return Results{}, fmt.Errorf("%w: no container rootfs (%w)", ErrBadOptions, guest.ErrNotBuilt)
	}
	if avail, err := host.MemAvailable(); err == nil {
		if err := opt.Fits(avail, "this machine"); err != nil {
			return Results{}, err
		}
	}
	// What a run killed with SIGKILL left (cgroups, state): gone before
	// this one starts. Its VMM processes died with it (Pdeathsig).
	if removed, err := container.CleanupStaleRuns(); err != nil {
		sink.Emit(event.Log{Side: event.Container, Msg: "cleanup of earlier runs: " + err.Error()})
	} else if len(removed) > 0 {
		sink.Emit(event.Log{Side: event.Container, Msg: fmt.Sprintf("removed what %d earlier container run(s) left behind", len(removed))})
	}
	plan := opt.Plan()
	res := Results{
		Schema:   Schema,
		Created:  time.Now().UTC(),
		Host:     compare.HostFacts(),
		Mode:     opt.Mode,
		Emulated: opt.Emulated,
		Config: Config{
			VMs: opt.VMs, Containers: opt.Containers, Steps: opt.Steps, Plan: plan,
			WindowNS: int64(opt.Window), VMMemBytes: opt.VMMemBytes, TimeoutNS: int64(opt.Timeout),
			GuestKey: opt.Guest.Key, Rootfs: opt.Guest.Rootfs, KSM: opt.KSM,
		},
	}
	if res.Mode == "" {
		res.Mode = host.ModeNative
	}
	if opt.VMs > 0 {
		res.Config.Kernel, res.Config.Initrd = opt.Kernel, opt.Initrd
	}
	var ksm *ksmControl
	if opt.KSM && opt.VMs > 0 {
		var err error
		if ksm, err = startKSM(); err != nil {
			res.KSM = &KSM{Note: err.Error()}
			sink.Emit(event.Log{Side: event.VM, Msg: "ksm: " + err.Error()})
		} else {
			defer ksm.restore()
		}
	}
	if err := warmUp(ctx, opt, sink); err != nil {
		return res, err
	}
	failed := false
	for i, step := range plan {
		var k *ksmControl
		if i == len(plan)-1 {
			k = ksm // merging is measured at the largest step
		}
		sr, kr := runStep(ctx, opt, i+1, len(plan), step, sink, k)
		res.Steps = append(res.Steps, sr)
		if kr != nil {
			res.KSM = kr
		}
		for _, f := range []*Fleet{sr.VM, sr.Container} {
			if f != nil && f.Failed > 0 {
				failed = true
			}
		}
		sink.Emit(StepDone{Result: sr, Steps: len(plan)})
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("density: stopped at step %d of %d: %w", i+1, len(plan), err)
		}
	}
	res.Fit = fitSteps(res.Steps)
	res.Goals = judge(res)
	sink.Emit(Finished{Results: res})
	if failed {
		return res, ErrInstanceFailed
	}
	return res, nil
}

// runStep starts the step's containers, all at once, and waits until each
// is READY or has failed; then the same for its VMs. The kinds start one
// after the other so that neither's start-up slows the other's clock; both
// fleets are up together during the window. It then measures the window
// and stops everything, and returns only once every instance is gone.
func runStep(ctx context.Context, opt Options, index, steps int, step Step, sink event.Sink, ksm *ksmControl) (StepResult, *KSM) {
	sink.Emit(StepStarted{Step: index, Steps: steps, Fleet: step})
	sr := StepResult{Index: index, Fleet: step, WindowNS: int64(opt.Window)}
	sr.MemAvailableBefore, _ = host.MemAvailable()

	stepCtx, cancel := context.WithCancel(ctx)
	var all []*instance
	defer func() {
		cancel()
		for _, in := range all {
			in.stopping.Store(true)
			<-in.done
		}
	}()
	fleets := map[Kind][]*instance{}
	for _, k := range []struct {
		kind Kind
		n    int
	}{{event.Container, step.Containers}, {event.VM, step.VMs}} {
		if k.n == 0 || ctx.Err() != nil {
			continue
		}
		fleets[k.kind] = startFleet(stepCtx, opt, index, steps, k.kind, k.n, sink)
		all = append(all, fleets[k.kind]...)
	}

	// The window: everything that came up stays up, idle.
	var live []*instance
	for _, in := range all {
		if in.isReady() && in.failure() == nil {
			live = append(live, in)
		}
	}
	cpu0 := make([]time.Duration, len(live))
	for i, in := range live {
		cpu0[i] = in.cpu()
	}
	sink.Emit(event.Log{Msg: fmt.Sprintf("step %d/%d: %d up, idle for %v", index, steps, len(live), opt.Window)})
	winStart := time.Now()
	sleep(stepCtx, opt.Window)
	window := time.Since(winStart)
	sr.WindowNS = int64(window)
	cpu := map[*instance]time.Duration{}
	mem := map[*instance]uint64{}
	// A run stopped during the window (Ctrl-C, the lab's x) measures no
	// memory or CPU: its instances are already going, and half-gone
	// processes would give made-up figures. Its READY times stand.
	if stepCtx.Err() == nil {
		for i, in := range live {
			cpu[in] = max(in.cpu()-cpu0[i], 0)
			m, err := in.memory()
			if err != nil && in.failure() == nil {
				in.fail(fmt.Errorf("measure its memory: %w", err))
			}
			mem[in] = m
		}
		sr.MemAvailableDuring, _ = host.MemAvailable()
	}

	// Same-page merging gets a window of its own, after the step's figures
	// were taken, so that they compare with the other steps'.
	var kr *KSM
	if ksm != nil && ctx.Err() == nil {
		kr = ksm.measure(stepCtx, fleets[event.VM], opt.Window)
		kr.Step = index
	}

	// Stop them all at once, and wait until each is gone (the VMMs report
	// the guest RAM their VM touched as they end).
	sink.Emit(event.Log{Msg: fmt.Sprintf("step %d/%d: stopping all %d", index, steps, len(all))})
	for _, in := range all {
		in.halt()
	}
	for _, in := range all {
		<-in.done
	}
	for kind, ins := range fleets {
		f := &Fleet{Asked: len(ins)}
		for _, in := range ins {
			inst := Instance{Index: in.index}
			in.mu.Lock()
			err, readyAt, touched := in.err, in.readyAt, in.touched
			inst.VMMPID = in.pid
			if in.cg != nil {
				inst.ContainerID = in.cg.ID
			}
			in.mu.Unlock()
			if err != nil {
				inst.Error = err.Error()
				f.Failed++
				sink.Emit(event.Failure{Side: kind, Err: fmt.Sprintf("step %d, %s %d: %v", index, kind, in.index, err)})
			} else if readyAt > 0 {
				f.Ready++
				inst.ReadyNS = int64(readyAt)
				inst.MemoryBytes, inst.IdleCPUNS = mem[in], int64(cpu[in])
				inst.TouchedBytes = touched
				f.MemoryBytes += mem[in]
				f.TouchedBytes += touched
				f.IdleCPUNS += int64(cpu[in])
				if f.FirstReadyNS == 0 || inst.ReadyNS < f.FirstReadyNS {
					f.FirstReadyNS = inst.ReadyNS
				}
				f.LastReadyNS = max(f.LastReadyNS, inst.ReadyNS)
			}
			f.Instances = append(f.Instances, inst)
		}
		if f.Ready > 0 {
			f.PerInstanceBytes = f.MemoryBytes / uint64(f.Ready)
		}
		if kind == event.VM {
			sr.VM = f
		} else {
			sr.Container = f
		}
	}
	return sr, kr
}

// startFleet starts n instances of kind at once and waits until each is
// READY, has failed, or the timeout has passed (it is then stopped as
// failed).
func startFleet(ctx context.Context, opt Options, step, steps int, kind Kind, n int, sink event.Sink) []*instance {
	var ready atomic.Int32
	what := fmt.Sprintf("step %d/%d: %s READY", step, steps, plural(kind))
	sink.Emit(event.Progress{What: what, Done: 0, Total: n})
	t0 := time.Now()
	ins := make([]*instance, n)
	onReady := func(in *instance) {
		r := int(ready.Add(1))
		in.mu.Lock()
		at := in.readyAt
		in.mu.Unlock()
		mem, _ := in.memory()
		sink.Emit(InstanceReady{Step: step, Side: kind, Index: in.index, AtNS: int64(at), Ready: r, Of: n, MemoryBytes: mem})
		sink.Emit(event.Progress{What: what, Done: r, Total: n})
	}
	for i := range ins {
		ins[i] = start(ctx, opt, kind, i, t0, onReady)
	}
	waitFleet(ctx, ins, opt.Timeout)
	for _, in := range ins {
		if !in.isReady() && ctx.Err() == nil {
			<-in.done // it failed: its error is final once it has ended
			if err := in.failure(); err != nil {
				sink.Emit(InstanceFailed{Step: step, Side: kind, Index: in.index, Err: err.Error()})
			}
		}
	}
	return ins
}

// waitFleet waits until each instance is READY or has ended, or the timeout
// has passed (the late ones are then stopped as failed), or ctx is done.
func waitFleet(ctx context.Context, ins []*instance, timeout time.Duration) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for _, in := range ins {
		select {
		case <-in.ready:
		case <-in.done:
		case <-deadline.C:
			for _, late := range ins {
				if !late.isReady() {
					late.fail(fmt.Errorf("not READY within %v", timeout))
				}
			}
			return
		case <-ctx.Done():
			return
		}
	}
}

// warmUp starts one instance of each kind asked for, waits until it is
// READY and stops it, measuring nothing: the first step then does not pay
// for cold caches (the binaries' pages, the seccomp filter's compilation)
// that no later step pays for. A warm-up that fails is not an error: the
// steps will say what fails.
func warmUp(ctx context.Context, opt Options, sink event.Sink) error {
	sink.Emit(event.Log{Msg: "warming up: one instance of each kind, not measured"})
	var all []*instance
	for _, k := range []struct {
		kind Kind
		n    int
	}{{event.Container, opt.Containers}, {event.VM, opt.VMs}} {
		if k.n == 0 {
			continue
		}
		warm := opt
		warm.override = nil
		in := start(ctx, warm, k.kind, 0, time.Now(), func(*instance) {})
		waitFleet(ctx, []*instance{in}, opt.Timeout)
		all = append(all, in)
	}
	for _, in := range all {
		in.halt()
	}
	for _, in := range all {
		<-in.done
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("density: stopped while warming up: %w", err)
	}
	return nil
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// plural names a kind for people: "VMs", "containers".
func plural(k Kind) string {
	if k == event.VM {
		return "VMs"
	}
	return "containers"
}

// errNotMeasured is the note of a goal this run's steps cannot judge.
var errNotMeasured = errors.New("not measured in this run")

package density

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/hypervisor/vmm"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/tail"
)

// instance is one VM (in its own VMM process) or one container (in its own
// cgroup), started with the probe in idle mode: READY, then nothing until
// it is stopped.
type instance struct {
	kind  Kind
	index int
	stop  context.CancelFunc
	ready chan struct{} // closed at READY
	done  chan struct{} // closed when its Run has returned

	mu       sync.Mutex
	readyAt  time.Duration // from its kind's start in this step
	pid      int           // the VMM process (VMs)
	cg       *container.Cgroup
	err      error  // why it failed, if it did
	touched  uint64 // guest RAM touched, reported by the VMM at its end
	stopping atomic.Bool
}

// start launches one instance; onReady is called once, when the host sees
// its READY line.
func start(ctx context.Context, opt Options, kind Kind, index int, t0 time.Time, onReady func(*instance)) *instance {
	ctx, cancel := context.WithCancel(ctx)
	in := &instance{kind: kind, index: index, stop: cancel, ready: make(chan struct{}), done: make(chan struct{})}
	var once sync.Once
	markReady := func() {
		once.Do(func() {
			in.mu.Lock()
			in.readyAt = time.Since(t0)
			in.mu.Unlock()
			close(in.ready)
			onReady(in)
		})
	}
	go func() {
		defer close(in.done)
		defer cancel()
		var err error
		if kind == event.VM {
			err = in.runVM(ctx, opt, markReady)
		} else {
			err = in.runContainer(ctx, opt, markReady)
		}
		// Its context is only ever cancelled to stop it: by halt, or by
		// the caller stopping the whole run (Ctrl-C, the lab's x).
		stopped := in.stopping.Load() || ctx.Err() != nil
		if stopped && errors.Is(err, context.Canceled) {
			err = nil
		}
		in.mu.Lock()
		defer in.mu.Unlock()
		switch {
		case in.err != nil:
			// Already failed (not READY in time, say) and stopped for it.
		case in.readyAt == 0 && stopped:
			in.err = errors.New("stopped before it was READY")
		case in.readyAt == 0 && err == nil:
			in.err = errors.New("ended without a READY line")
		case in.readyAt == 0:
			in.err = err
		case !stopped:
			// Up, then gone before it was stopped.
			if err == nil {
				err = errors.New("ended on its own before it was stopped")
			}
			in.err = err
		}
	}()
	return in
}

// runVM boots the lab kernel in a VMM process of its own.
func (in *instance) runVM(ctx context.Context, opt Options, ready func()) error {
	cfg := hypervisor.Config{
		Kernel:    opt.Kernel,
		Initrd:    opt.Initrd,
		Cmdline:   report.Cmdline(hypervisor.DefaultCmdline, report.ModeIdle, 0),
		MemBytes:  opt.VMMemBytes,
		CPUs:      defaultVMCPUs,
		Emulated:  opt.Emulated,
		Mergeable: opt.KSM,
		ID:        fmt.Sprintf("density-%d", in.index),
		Events: func(ev event.Event) {
			switch e := ev.(type) {
			case vmm.Started:
				in.mu.Lock()
				in.pid = e.PID
				in.mu.Unlock()
			case event.Phase:
				if e.Name == hypervisor.PhaseReady {
					ready()
				}
			}
		},
	}
	if opt.override != nil {
		opt.override(event.VM, in.index, &cfg, nil)
	}
	res, err := vmm.Run(ctx, cfg)
	in.mu.Lock()
	in.touched = res.Memory.TouchedBytes
	in.mu.Unlock()
	if errors.Is(err, context.Canceled) {
		return err // a stop (see start)
	}
	if err != nil && len(res.ConsoleTail) > 0 {
		err = fmt.Errorf("%w; console tail: %s", err, strings.Join(tail.Last(res.ConsoleTail, 3), " | "))
	}
	if err == nil && res.Reason != "" {
		err = fmt.Errorf("the VM ended: %s", res.Reason)
	}
	return err
}

// runContainer starts the probe in the lab rootfs, read-only and shared by
// every container (no overlay: nothing per container but its namespaces,
// its cgroup and the probe's own pages).
func (in *instance) runContainer(ctx context.Context, opt Options, ready func()) error {
	spec := container.Spec{
		Rootfs:       opt.Guest.Rootfs,
		Args:         report.Args(report.ModeIdle, 0),
		ReadOnlyRoot: true,
		// No transparent huge pages for the probe's small heap, as for the
		// VMM's (see hypervisor/vmm): with THP "always", as in nested
		// mode's lab machine, some probes got a 2 MiB page and the same
		// container read 2.6 or 4.1 MiB.
		Env: []string{"GODEBUG=disablethp=1"},
		Events: func(ev event.Event) {
			switch e := ev.(type) {
			case container.Cgroup:
				in.mu.Lock()
				in.cg = &e
				in.mu.Unlock()
			case event.Phase:
				if e.Name == container.PhaseReady {
					ready()
				}
			}
		},
	}
	if opt.override != nil {
		opt.override(event.Container, in.index, nil, &spec)
	}
	res, err := container.Run(ctx, spec)
	if err == nil {
		err = fmt.Errorf("the container ended: %s, exit code %d", res.Reason, res.ExitCode)
	}
	return err
}

// isReady says whether the instance printed READY.
func (in *instance) isReady() bool {
	select {
	case <-in.ready:
		return true
	default:
		return false
	}
}

// failure is why the instance failed, or nil.
func (in *instance) failure() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.err
}

// fail records why the instance failed (the first reason wins) and stops it.
func (in *instance) fail(err error) {
	in.mu.Lock()
	if in.err == nil {
		in.err = err
	}
	in.mu.Unlock()
	in.halt()
}

// halt stops the instance: the VMM stops its VM, the container is killed.
func (in *instance) halt() {
	in.stopping.Store(true)
	in.stop()
}

// memory is what the instance holds now: its VMM process's PSS (guest RAM
// touched included), or its cgroup's memory.
func (in *instance) memory() (uint64, error) {
	in.mu.Lock()
	pid, cg := in.pid, in.cg
	in.mu.Unlock()
	if in.kind == event.VM {
		if pid == 0 {
			return 0, errors.New("no VMM process")
		}
		r, err := host.ReadRollup(pid)
		return r.PSS, err
	}
	if cg == nil {
		return 0, errors.New("no cgroup")
	}
	return cg.MemoryCurrent()
}

// cpu is the CPU time the instance's processes have used so far.
func (in *instance) cpu() time.Duration {
	in.mu.Lock()
	pid, cg := in.pid, in.cg
	in.mu.Unlock()
	var pids []int
	if in.kind == event.VM {
		pids = []int{pid}
	} else if cg != nil {
		pids = cg.Pids()
	}
	var sum time.Duration
	for _, p := range pids {
		if st, err := host.ReadProcStat(p); err == nil {
			sum += st.CPU
		}
	}
	return sum
}

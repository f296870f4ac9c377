package compare

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/host"
)

// Defaults for Options fields left zero.
const (
	DefaultVMMem    uint64 = 128 << 20
	DefaultSyscalls        = 1000
	DefaultTimeout         = 60 * time.Second
)

// Options describes one experiment. Zero fields take the defaults above.
type Options struct {
	Guest      guest.Artifacts // the lab's kernel, initramfs and rootfs
	Kernel     string          // VM kernel; default Guest.Vmlinux (PVH entry)
	Initrd     string          // VM initramfs; default Guest.Initramfs
	VMMemBytes uint64
	VMCPUs     int
	CTMemBytes int64 // container memory limit, 0 = none
	Syscalls   int   // getppid burst asked of the probe on both sides
	Runs       int   // measured pairs (bench); Run uses 1
	Warmup     int   // pairs run first and left out of the statistics
	Timeout    time.Duration
	Peers      bool // also run QEMU, runc and crun where installed

	// Mode ("native" or "nested") and Emulated are facts about where this
	// process runs, decided by the caller: inside the nested-mode lab machine
	// every figure is emulated.
	Mode     string
	Emulated bool
	L1Kernel string // nested mode: the lab machine's kernel package
}

// ErrBadOptions wraps every invalid-option error.
var ErrBadOptions = errors.New("invalid options")

// ErrSideFailed means at least one of our two sides did not reach READY in
// some run. The results are still complete and say which and why.
var ErrSideFailed = errors.New("a side failed")

func (o Options) withDefaults() Options {
	if o.Kernel == "" {
		o.Kernel = o.Guest.VMKernel()
	}
	if o.Initrd == "" {
		o.Initrd = o.Guest.Initramfs
	}
	if o.VMMemBytes == 0 {
		o.VMMemBytes = DefaultVMMem
	}
	if o.VMCPUs == 0 {
		o.VMCPUs = 1
	}
	if o.Syscalls == 0 {
		o.Syscalls = DefaultSyscalls
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Mode == "" {
		o.Mode = host.ModeNative
	}
	return o
}

// MaxRuns and MaxWarmup bound a benchmark: 1,000 pairs are about an hour in
// nested mode and a minute natively; more is a typo (or an overflow: a
// count near 2^63 once wrapped around to nothing and "succeeded").
const (
	MaxRuns   = 1000
	MaxWarmup = 100
)

// Validate checks the options as Run and Bench will, without running
// anything: a command line calls it before it boots the nested-mode machine
// or starts the first pair. The guest's files are not looked at.
func (o Options) Validate() error {
	o = o.withDefaults()
	if err := o.check(); err != nil {
		return err
	}
	if err := hypervisor.CheckResources(o.VMMemBytes, o.VMCPUs, o.Timeout); err != nil {
		return fmt.Errorf("%w: %w", ErrBadOptions, err)
	}
	if err := hypervisor.CheckKernel(o.Kernel, o.Initrd); err != nil {
		return fmt.Errorf("%w: %w", ErrBadOptions, err)
	}
	if err := container.CheckLimits(o.CTMemBytes, 0, 0); err != nil {
		return fmt.Errorf("%w: %w", ErrBadOptions, err)
	}
	return nil
}

func (o Options) validate() error {
	if err := o.check(); err != nil {
		return err
	}
	if o.Kernel == "" || o.Initrd == "" || o.Guest.Rootfs == "" {
		return fmt.Errorf("%w: no guest kernel, initramfs or rootfs (%v)", ErrBadOptions, guest.ErrNotBuilt)
	}
	return nil
}

func (o Options) check() error {
	switch {
	case o.Runs < 1 || o.Runs > MaxRuns:
		return fmt.Errorf("%w: runs must be 1 to %d, got %d", ErrBadOptions, MaxRuns, o.Runs)
	case o.Warmup < 0 || o.Warmup > MaxWarmup:
		return fmt.Errorf("%w: warmup must be 0 to %d, got %d", ErrBadOptions, MaxWarmup, o.Warmup)
	case o.Syscalls < 0:
		return fmt.Errorf("%w: syscalls must not be negative, got %d", ErrBadOptions, o.Syscalls)
	case o.Timeout < 0:
		return fmt.Errorf("%w: negative timeout %v", ErrBadOptions, o.Timeout)
	case o.Mode != host.ModeNative && o.Mode != host.ModeNested:
		return fmt.Errorf("%w: mode %q (want native or nested)", ErrBadOptions, o.Mode)
	}
	return nil
}

// runSide runs r and, in nested mode, labels every phase it returns as
// emulated, whatever the side's own package knew.
func runSide(ctx context.Context, r runner, index, syscalls int, sink event.Sink, emulated bool) Side {
	s := r(ctx, index, syscalls, sink)
	if emulated {
		s.Emulated = true
		for i := range s.Phases {
			s.Phases[i].Emulated = true
		}
	}
	return s
}

// runner measures one boot of one side. index is the run index; syscalls
// the burst size for the probe. It never returns a nil Side: a failure is a
// Side with Error set, so that it is reported, not lost.
type runner func(ctx context.Context, index, syscalls int, sink event.Sink) Side

// sides are the runners of one experiment: ours, and the peers found.
type sides struct {
	vm, container runner
	peers         []namedRunner
}

type namedRunner struct {
	name string
	run  runner
}

// RunOnce measures one VM and one container boot of the same workload: the
// engine of `twinboot run`. (It cannot be called Run: that name is the
// results type of one run.)
func RunOnce(ctx context.Context, opt Options, sink event.Sink) (Results, error) {
	opt.Runs, opt.Warmup = 1, 0
	return experiment(ctx, "run", opt, sink)
}

// Bench measures opt.Warmup + opt.Runs pairs, interleaved (VM, container,
// peers, then VM again…) so that slow drift of the machine hits every side
// alike, and adds the statistics over the non-warmup runs.
func Bench(ctx context.Context, opt Options, sink event.Sink) (Results, error) {
	return experiment(ctx, "bench", opt, sink)
}

func experiment(ctx context.Context, command string, opt Options, sink event.Sink) (Results, error) {
	opt = opt.withDefaults()
	if err := opt.validate(); err != nil {
		return Results{}, err
	}
	host := HostFacts()
	host.L1Kernel = opt.L1Kernel
	sink = emulatedSink(sink, opt.Emulated)
	s := sides{vm: vmRunner(opt), container: containerRunner(opt)}
	var peers []Peer
	if opt.Peers {
		var found []namedRunner
		found, peers = findPeers(opt, host, sink)
		s.peers = found
	}
	return measure(ctx, command, opt, host, s, peers, sink)
}

// measure is the experiment loop, apart from how each side is run.
func measure(ctx context.Context, command string, opt Options, host Host, s sides, peers []Peer, sink event.Sink) (Results, error) {
	res := Results{
		Schema: Schema, Created: time.Now().UTC(), Command: command,
		Host: host, Mode: opt.Mode, Emulated: opt.Emulated,
		Config: Config{
			Kernel: opt.Kernel, Initrd: opt.Initrd, GuestKey: opt.Guest.Key,
			VMMemBytes: opt.VMMemBytes, VMCPUs: opt.VMCPUs, CTMemBytes: opt.CTMemBytes,
			Syscalls: opt.Syscalls, Runs: opt.Runs, Warmup: opt.Warmup, TimeoutNS: int64(opt.Timeout),
		},
		Peers: peers,
	}
	img, err := MeasureKernel(opt.Guest.Vmlinux)
	if err != nil {
		sink.Emit(event.Log{Msg: fmt.Sprintf("guest kernel size unknown: %v", err)})
	}

	// One boot without the burst, so that exits caused by the burst can be
	// told from exits caused by booting (see KernelFacts).
	var baseline *Side
	if opt.Syscalls > 0 {
		sink.Emit(event.Log{Side: event.VM, Msg: "baseline boot without the syscall burst (for the syscall-path exit count)"})
		b := runSide(ctx, s.vm, -1, 0, sink, opt.Emulated)
		baseline = &b
		res.SyscallBaseline = baseline
	}

	total := opt.Warmup + opt.Runs
	failed := false
	for i := 0; i < total; i++ {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("%s interrupted after %d of %d runs: %w", command, i, total, err)
		}
		warm := i < opt.Warmup
		sink.Emit(RunStarted{Index: i, Total: total, Warmup: warm, Mode: opt.Mode, Emulated: opt.Emulated})
		run := Run{Index: i, Warmup: warm}
		vm := runSide(ctx, s.vm, i, opt.Syscalls, sink, opt.Emulated)
		run.VM = &vm
		sink.Emit(SideDone{Index: i, Side: vm})
		ct := runSide(ctx, s.container, i, opt.Syscalls, sink, opt.Emulated)
		run.Container = &ct
		sink.Emit(SideDone{Index: i, Side: ct})
		for _, p := range s.peers {
			ps := runSide(ctx, p.run, i, opt.Syscalls, sink, opt.Emulated)
			run.Peers = append(run.Peers, ps)
			sink.Emit(SideDone{Index: i, Side: ps})
		}
		run.Kernel = KernelFacts(host, run.VM, run.Container, baseline, img)
		if !vm.OK() || !ct.OK() {
			failed = true
		}
		res.Runs = append(res.Runs, run)
		sink.Emit(RunDone{Run: run})
		sink.Emit(event.Progress{What: command, Done: i + 1, Total: total})
	}
	res.Stats = BuildStats(res.Runs)
	sink.Emit(Finished{Results: res})
	if failed {
		return res, fmt.Errorf("%w: %s", ErrSideFailed, failures(res.Runs))
	}
	return res, nil
}

// failures names the first failure of each of our sides, for the one-line
// error; the results hold every one.
func failures(runs []Run) string {
	var vmErr, ctErr string
	for _, r := range runs {
		if vmErr == "" && !r.VM.OK() {
			vmErr = fmt.Sprintf("vm (run %d): %s", r.Index, sideError(r.VM))
		}
		if ctErr == "" && !r.Container.OK() {
			ctErr = fmt.Sprintf("container (run %d): %s", r.Index, sideError(r.Container))
		}
	}
	switch {
	case vmErr != "" && ctErr != "":
		return vmErr + "; " + ctErr
	case vmErr != "":
		return vmErr
	}
	return ctErr
}

func sideError(s *Side) string {
	if s.Error != "" {
		return s.Error
	}
	return "no READY line (ended: " + s.Reason + ")"
}

// emulatedSink marks every phase as emulated when the whole experiment runs
// inside the nested-mode lab machine, whatever the side's own package knows.
func emulatedSink(sink event.Sink, emulated bool) event.Sink {
	if !emulated || sink == nil {
		return sink
	}
	return func(ev event.Event) {
		if p, ok := ev.(event.Phase); ok {
			p.Emulated = true
			ev = p
		}
		sink(ev)
	}
}

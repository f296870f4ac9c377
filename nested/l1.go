package nested

import (
	"context"
	"sync"

	"github.com/twinboot/twinboot/internal/event"
)

// L1 is the one lifecycle of nested mode's lab machine: prepared and booted
// on first use, then running jobs one at a time (a run, a benchmark, a
// command relayed from the host, a shell whose keys travel in), and stopped
// by Close. Every user of nested mode goes through it: the CLI's relayed
// commands, run and bench, and the lab, which keeps one L1 for many jobs
// because a boot costs far more than a run.
//
// The timeout policy is the job's: Job.Timeout bounds the job and the boot
// it waits for; Options.BootTimeout bounds every boot. A job that fails to
// run, times out or is cancelled kills QEMU (L1 has no state worth saving)
// and the next job boots a fresh L1.
type L1 struct {
	opt Options

	sinkMu sync.Mutex
	sink   event.Sink // the waiting job's sink, for L1's own progress

	mu sync.Mutex // guards m and s; never held while L1 reports progress
	m  *Machine
	s  *Session

	// bootMu makes one caller boot L1 while another (a run asked for while
	// a shell is being opened) waits for that boot. useMu is held while a
	// job runs: a session relays one job at a time.
	bootMu sync.Mutex
	useMu  sync.Mutex
}

// New returns an L1 that boots with opt when first used.
func New(opt Options) *L1 {
	l := &L1{}
	if opt.Sink == nil {
		opt.Sink = func(ev event.Event) {
			l.sinkMu.Lock()
			s := l.sink
			l.sinkMu.Unlock()
			s.Emit(ev)
		}
	}
	l.opt = opt
	return l
}

// Run runs one job, booting L1 first when it is not up, and returns the
// job's exit status.
func (l *L1) Run(ctx context.Context, job Job) (int, error) {
	if job.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, job.Timeout)
		defer cancel()
	}
	s, err := l.Boot(ctx, job.Sink)
	if err != nil {
		return -1, err
	}
	l.useMu.Lock()
	code, err := s.Run(ctx, job)
	l.useMu.Unlock()
	if err != nil {
		l.drop()
	}
	return code, err
}

// Boot returns the running session, preparing and booting L1 when needed;
// sink receives the progress meanwhile (unless Options.Sink is set).
func (l *L1) Boot(ctx context.Context, sink event.Sink) (*Session, error) {
	l.bootMu.Lock()
	defer l.bootMu.Unlock()
	l.sinkMu.Lock()
	l.sink = sink
	l.sinkMu.Unlock()
	defer func() {
		l.sinkMu.Lock()
		l.sink = nil
		l.sinkMu.Unlock()
	}()
	l.mu.Lock()
	m, s := l.m, l.s
	l.mu.Unlock()
	if s != nil {
		return s, nil
	}
	if m == nil {
		l.opt.Sink.Emit(event.Log{Msg: "preparing the lab machine (L1: Debian kernel, kvm-amd, this twinboot)…"})
		var err error
		if m, err = Prepare(ctx, l.opt); err != nil {
			return nil, err
		}
		l.mu.Lock()
		l.m = m
		l.mu.Unlock()
	}
	l.opt.Sink.Emit(event.Log{Msg: "booting the lab machine (L1) under QEMU software emulation; this takes a while…"})
	s, err := m.Boot(ctx)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.s = s
	l.mu.Unlock()
	return s, nil
}

// Machine is the prepared machine, or nil before the first boot.
func (l *L1) Machine() *Machine {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m
}

// drop ends the session (QEMU is killed); the machine stays prepared.
func (l *L1) drop() {
	l.mu.Lock()
	s := l.s
	l.s = nil
	l.mu.Unlock()
	if s != nil {
		s.Close()
	}
}

// Close powers L1 off and removes its temporary files.
func (l *L1) Close() error {
	l.drop()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m != nil {
		err := l.m.Close()
		l.m = nil
		return err
	}
	return nil
}

// Run boots a fresh L1, runs one job in it and powers it off: the one-shot
// form of L1.Run, for a command relayed into L1. Cancelling ctx (Ctrl-C,
// SIGTERM) kills QEMU and removes the temporary files before Run returns.
func Run(ctx context.Context, opt Options, job Job) (int, error) {
	l := New(opt)
	defer l.Close()
	return l.Run(ctx, job)
}

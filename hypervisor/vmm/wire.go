package vmm

import (
	"context"
	"errors"
	"sort"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/internal/event"
)

// The VMM's extra file descriptors.
const (
	configFD = 3 // parent → VMM: one request, then EOF
	eventsFD = 4 // VMM → parent: event lines, the last one an Ended
)

// request is what the VMM is asked to run.
type request struct {
	Config hypervisor.Config `json:"config"`
	// StartMonoNS is Config.Start on CLOCK_MONOTONIC, which both processes
	// share: phases stay measured from the caller's start, the VMM
	// process's own start-up included.
	StartMonoNS int64 `json:"start_mono_ns"`
	Console     bool  `json:"console"` // copy the console to stdout
	Input       bool  `json:"input"`   // feed stdin to the UART
	Events      bool  `json:"events"`  // send events
}

// Ended is the VMM's last word: the run's Result and how it ended.
type Ended struct {
	// Made is false when hypervisor.New failed: no VM was made.
	Made   bool              `json:"made"`
	Result hypervisor.Result `json:"result"`
	Err    string            `json:"error,omitempty"`
	// Causes name the sentinel errors Err wraps (keys of sentinels).
	Causes []string `json:"causes,omitempty"`
}

func (Ended) Kind() string { return "vmm-ended" }

// Started is the caller's first event of a run: the VMM process is up, and
// PID names it. Its memory (smaps_rollup: the VMM and the guest RAM it has
// touched) and its CPU time (/proc/<pid>/stat, every vCPU thread included)
// are that one VM's, which is how twinboot density measures a fleet.
type Started struct {
	PID int `json:"pid"`
}

func (Started) Kind() string { return "vmm-started" }

func init() {
	event.Register(Ended{}.Kind(), func() event.Event { return &Ended{} })
	event.Register(Started{}.Kind(), func() event.Event { return &Started{} })
}

// Value lets event.Decode hand back a value, not a pointer.
func (e *Started) Value() event.Event { return *e }

// Value lets event.Decode hand back a value, not a pointer.
func (e *Ended) Value() event.Event { return *e }

// sentinels are the errors a caller may branch on, by wire name.
var sentinels = map[string]error{
	"no-kvm":            hypervisor.ErrNoKVM,
	"kvm-permission":    hypervisor.ErrKVMPermission,
	"kvm-api":           hypervisor.ErrKVMAPI,
	"no-kernel":         hypervisor.ErrNoKernel,
	"not-kernel":        hypervisor.ErrNotKernel,
	"32bit-kernel":      hypervisor.Err32BitKernel,
	"old-protocol":      hypervisor.ErrOldProtocol,
	"no-initrd":         hypervisor.ErrNoInitrd,
	"mem-too-small":     hypervisor.ErrMemTooSmall,
	"mem-too-large":     hypervisor.ErrMemTooLarge,
	"initrd-too-large":  hypervisor.ErrInitrdTooLarge,
	"cmdline-too-long":  hypervisor.ErrCmdlineTooLong,
	"bad-cpus":          hypervisor.ErrBadCPUs,
	"timeout":           hypervisor.ErrTimeout,
	"guest-failed":      hypervisor.ErrGuestFailed,
	"unsupported":       hypervisor.ErrUnsupported,
	"closed":            hypervisor.ErrClosed,
	"canceled":          context.Canceled,
	"deadline-exceeded": context.DeadlineExceeded,
}

// causesOf names the sentinels err wraps: a cancelled run, for one, is
// both hypervisor.ErrGuestFailed and context.Canceled.
func causesOf(err error) []string {
	var names []string
	for name, s := range sentinels {
		if errors.Is(err, s) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// remoteError is an error of the VMM process, rebuilt on the caller's side.
type remoteError struct {
	msg    string
	causes []error
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.causes }

// err rebuilds the run's error, or nil.
func (e Ended) err() error {
	if e.Err == "" {
		return nil
	}
	re := &remoteError{msg: e.Err}
	for _, name := range e.Causes {
		if s, ok := sentinels[name]; ok {
			re.causes = append(re.causes, s)
		}
	}
	return re
}

// monoNow is CLOCK_MONOTONIC in nanoseconds.
func monoNow() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// startFrom turns a StartMonoNS back into a time.Time of this process.
func startFrom(startMono int64) time.Time {
	return time.Now().Add(-time.Duration(monoNow() - startMono))
}

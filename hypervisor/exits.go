package hypervisor

import "fmt"

// KVM exit reasons (struct kvm_run's exit_reason) that this VMM meets. Each
// exit is a moment the guest could not continue without us; counting them
// is a lesson in itself: the hypervisor only sees what traps.
const (
	exitUnknown       = 0
	exitException     = 1
	exitIO            = 2
	exitHypercall     = 3
	exitDebug         = 4
	exitHLT           = 5
	exitMMIO          = 6
	exitIRQWindow     = 7
	exitShutdown      = 8
	exitFailEntry     = 9
	exitIntr          = 10
	exitNMI           = 16
	exitInternalError = 17
	exitSystemEvent   = 24
)

var exitNames = map[uint32]string{
	exitUnknown:       "unknown",
	exitException:     "exception",
	exitIO:            "io",
	exitHypercall:     "hypercall",
	exitDebug:         "debug",
	exitHLT:           "hlt",
	exitMMIO:          "mmio",
	exitIRQWindow:     "irq-window",
	exitShutdown:      "shutdown",
	exitFailEntry:     "fail-entry",
	exitIntr:          "intr",
	exitNMI:           "nmi",
	exitInternalError: "internal-error",
	exitSystemEvent:   "system-event",
}

func exitName(reason uint32) string {
	if n, ok := exitNames[reason]; ok {
		return n
	}
	return fmt.Sprintf("exit-%d", reason)
}

// exitCounts is one vCPU's tally. Each vCPU goroutine owns its own, so the
// hot path takes no lock; Run adds them up at the end.
type exitCounts struct {
	byReason map[string]uint64
	byPort   map[uint16]uint64
}

func newExitCounts() *exitCounts {
	return &exitCounts{byReason: map[string]uint64{}, byPort: map[uint16]uint64{}}
}

func (c *exitCounts) add(o *exitCounts) {
	for k, v := range o.byReason {
		c.byReason[k] += v
	}
	for k, v := range o.byPort {
		c.byPort[k] += v
	}
}

// ExitReason names how a run ended.
type ExitReason string

const (
	// ReasonPoweroff: the guest wrote its status to the exit port. Clean.
	ReasonPoweroff ExitReason = "poweroff"
	// ReasonReboot: the guest rebooted (with reboot=t, by triple fault,
	// after printing "reboot: Restarting system"). Clean.
	ReasonReboot ExitReason = "reboot"
	// ReasonTripleFault: KVM_EXIT_SHUTDOWN that the guest did not announce:
	// a crash so early or so bad that the CPU itself gave up.
	ReasonTripleFault ExitReason = "triple-fault"
	// ReasonPanic: the guest kernel panicked (seen on the console).
	ReasonPanic ExitReason = "panic"
	// ReasonInternalError: KVM_EXIT_INTERNAL_ERROR, KVM could not emulate
	// an instruction or deliver an event.
	ReasonInternalError ExitReason = "internal-error"
	// ReasonFailEntry: the hardware refused to enter the guest (bad state).
	ReasonFailEntry ExitReason = "fail-entry"
	// ReasonHalt: a vCPU halted with no in-kernel interrupt controller to
	// wake it: nothing will ever run again.
	ReasonHalt ExitReason = "halt"
	// ReasonTimeout: Config.Timeout passed first.
	ReasonTimeout ExitReason = "timeout"
	// ReasonCanceled: the Run context was cancelled.
	ReasonCanceled ExitReason = "canceled"
	// ReasonUnexpectedExit: an exit reason this VMM does not handle.
	ReasonUnexpectedExit ExitReason = "unexpected-exit"
	// ReasonVMMError: KVM_RUN itself failed, or a device could not work.
	ReasonVMMError ExitReason = "vmm-error"
)

// Clean reports whether the guest ended the run on purpose.
func (r ExitReason) Clean() bool { return r == ReasonPoweroff || r == ReasonReboot }

package host

import (
	"errors"
	"fmt"
	"os"
)

// EnvNested is "1" in every process that nested mode's L1 machine starts:
// the one fact that says "this machine is the emulated lab machine".
const EnvNested = "TWINBOOT_NESTED"

// InsideL1 reports whether this process runs inside nested mode's L1
// machine.
func InsideL1() bool { return os.Getenv(EnvNested) == "1" }

// Modes: where a command runs its VM. These are the only spellings.
const (
	ModeAuto   = "auto"
	ModeNative = "native"
	ModeNested = "nested"
)

// Decision is the mode a VM-running command uses, and why. It is printed and
// recorded in results.
type Decision struct {
	Mode   string  `json:"mode"` // native or nested
	Reason string  `json:"reason"`
	KVM    KVMInfo `json:"kvm"`
}

// Emulated reports whether figures measured under this decision are
// emulated: in nested mode and inside L1 they are.
func (d Decision) Emulated() bool { return d.Mode == ModeNested || InsideL1() }

// ErrBadMode is returned by Decide for a mode it does not know.
var ErrBadMode = errors.New("unknown mode")

// Decide turns --mode into a decision. auto picks native where /dev/kvm is
// hardware-backed and nested otherwise. Inside L1 the answer is always
// native: L1's /dev/kvm is kvm-amd, and there is no third level.
func Decide(mode string) (Decision, error) {
	return decide(mode, KVM(), InsideL1())
}

func decide(mode string, k KVMInfo, inside bool) (Decision, error) {
	d := Decision{KVM: k}
	switch mode {
	case "", ModeAuto, ModeNative, ModeNested:
	default:
		return d, fmt.Errorf("%w %q: want auto, native or nested", ErrBadMode, mode)
	}
	if inside {
		d.Mode = ModeNative
		d.Reason = "running inside the nested-mode L1 machine, whose " + k.Detail + " (emulated by QEMU)"
		return d, nil
	}
	switch mode {
	case ModeNative:
		d.Mode = ModeNative
		d.Reason = "requested with --mode native; " + k.Detail
		if !k.HardwareBacked {
			d.Reason += " (expect the guest to fail)"
		}
	case ModeNested:
		d.Mode = ModeNested
		d.Reason = "requested with --mode nested; " + k.Detail
	default:
		if k.HardwareBacked && k.Usable {
			d.Mode = ModeNative
			d.Reason = "auto: " + k.Detail
		} else {
			d.Mode = ModeNested
			d.Reason = "auto: " + k.Detail + ", so the VM runs in an emulated AMD-V machine (QEMU TCG); its timings are emulated"
		}
	}
	return d, nil
}

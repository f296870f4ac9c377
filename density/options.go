package density

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/hypervisor"
)

// Defaults for Options fields left zero.
const (
	// DefaultVMMem is each VM's guest RAM: enough for the lab kernel and
	// the probe, and small enough that a fleet fits in the lab machine. It
	// is mapped lazily: a VM costs what its guest touches, not this.
	DefaultVMMem uint64 = 64 << 20
	// DefaultWindow is how long the fleet stays up and idle while its CPU
	// use is measured.
	DefaultWindow = 5 * time.Second
	// DefaultTimeout bounds one kind's start in one step: all of its
	// instances READY or failed.
	DefaultTimeout = 5 * time.Minute
)

// Bounds: beyond them a count is a typo, whatever the memory says.
const (
	MaxVMs        = 64
	MaxContainers = 1024
	MaxSteps      = 16
	MaxWindow     = 10 * time.Minute
)

// Estimates used to say, before starting anything, whether a fleet fits:
// the worst a VM can cost is its whole guest RAM plus the VMM process;
// a container running the probe costs a few MiB (measured: about 1 MiB).
const (
	VMMOverheadEstimate uint64 = 16 << 20
	ContainerEstimate   uint64 = 8 << 20
	reserveBytes        uint64 = 64 << 20 // left for the kernel and twinboot itself
)

const (
	minWindow     = 100 * time.Millisecond
	defaultVMCPUs = 1
	bytesPerMiB   = 1 << 20
)

// Options describe one density experiment. Zero fields take the defaults.
type Options struct {
	Guest  guest.Artifacts // the lab's kernel, initramfs and rootfs
	Kernel string          // VM kernel; default Guest.VMKernel()
	Initrd string          // VM initramfs; default Guest.Initramfs

	// VMs and Containers are the fleet's size at its largest step. Either
	// may be 0 (that kind is not measured), not both.
	VMs, Containers int
	// Steps are the fleet's relative sizes, ascending: step s runs
	// ceil(VMs*s/last) VMs and ceil(Containers*s/last) containers, where
	// last is the largest step. --vms 4 --containers 16 --steps 1,2,4 runs
	// 1, 2, 4 VMs and 4, 8, 16 containers. Empty: one step at full size.
	Steps []int
	// Window is how long each step's fleet stays up, idle, once all are
	// READY: CPU use is measured over it, memory at its end.
	Window time.Duration
	// VMMemBytes is each VM's guest RAM.
	VMMemBytes uint64
	// Timeout bounds one kind's start within a step.
	Timeout time.Duration
	// KSM turns on the kernel's same-page merging for the VMs' guest RAM
	// and measures what it gives back over the window.
	KSM bool

	// Emulated is a fact about where this process runs (inside nested
	// mode's lab machine), decided by the caller.
	Mode     string
	Emulated bool

	// override, set by tests, changes one instance's configuration before
	// it starts: a real failure (a missing kernel, a rootfs without the
	// probe) among instances that work.
	override func(k Kind, index int, vm *hypervisor.Config, ct *container.Spec)
}

// Errors a caller can branch on.
var (
	// ErrBadOptions wraps every invalid-option error.
	ErrBadOptions = errors.New("invalid density options")
	// ErrTooLarge means the fleet cannot fit in this machine's memory.
	ErrTooLarge = errors.New("the fleet does not fit in memory")
	// ErrInstanceFailed means at least one instance did not reach READY;
	// the results still hold everything the others measured.
	ErrInstanceFailed = errors.New("an instance failed")
)

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
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// Validate checks the counts, steps, window and VM size, without looking at
// any file or at the machine's memory (see Fits).
func (o Options) Validate() error {
	o = o.withDefaults()
	switch {
	case o.VMs < 0 || o.Containers < 0:
		return fmt.Errorf("%w: negative count (--vms %d, --containers %d)", ErrBadOptions, o.VMs, o.Containers)
	case o.VMs == 0 && o.Containers == 0:
		return fmt.Errorf("%w: nothing to start: give --vms N, --containers M or both (N, M ≥ 1)", ErrBadOptions)
	case o.VMs > MaxVMs:
		return fmt.Errorf("%w: --vms %d is more than %d", ErrBadOptions, o.VMs, MaxVMs)
	case o.Containers > MaxContainers:
		return fmt.Errorf("%w: --containers %d is more than %d", ErrBadOptions, o.Containers, MaxContainers)
	case len(o.Steps) > MaxSteps:
		return fmt.Errorf("%w: %d steps is more than %d", ErrBadOptions, len(o.Steps), MaxSteps)
	case o.Window < minWindow || o.Window > MaxWindow:
		return fmt.Errorf("%w: window %v (want %v to %v)", ErrBadOptions, o.Window, minWindow, MaxWindow)
	case o.Timeout < 0:
		return fmt.Errorf("%w: negative timeout %v", ErrBadOptions, o.Timeout)
	}
	for i, s := range o.Steps {
		if s < 1 {
			return fmt.Errorf("%w: step %d is %d (steps are sizes ≥ 1)", ErrBadOptions, i+1, s)
		}
		if i > 0 && s <= o.Steps[i-1] {
			return fmt.Errorf("%w: steps must ascend (%d after %d)", ErrBadOptions, s, o.Steps[i-1])
		}
	}
	if o.VMs > 0 {
		if err := hypervisor.CheckResources(o.VMMemBytes, defaultVMCPUs, 0); err != nil {
			return fmt.Errorf("%w: %w", ErrBadOptions, err)
		}
	}
	return nil
}

// Step is one fleet size: how many of each kind run at once.
type Step struct {
	VMs        int `json:"vms"`
	Containers int `json:"containers"`
}

// Plan lists the steps' fleets, smallest first.
func (o Options) Plan() []Step {
	if len(o.Steps) == 0 {
		return []Step{{VMs: o.VMs, Containers: o.Containers}}
	}
	steps := append([]int(nil), o.Steps...)
	sort.Ints(steps)
	last := steps[len(steps)-1]
	scale := func(max, s int) int {
		if max == 0 {
			return 0
		}
		return int(math.Ceil(float64(max) * float64(s) / float64(last)))
	}
	var plan []Step
	for _, s := range steps {
		plan = append(plan, Step{VMs: scale(o.VMs, s), Containers: scale(o.Containers, s)})
	}
	return plan
}

// NeedBytes is the most the largest step can take: every VM's whole guest
// RAM plus a VMM process, and a few MiB per container.
func (o Options) NeedBytes() uint64 {
	o = o.withDefaults()
	var need uint64
	for _, s := range o.Plan() {
		n := uint64(s.VMs)*(o.VMMemBytes+VMMOverheadEstimate) + uint64(s.Containers)*ContainerEstimate
		need = max(need, n)
	}
	return need
}

// Fits says whether the largest step fits in available bytes of memory
// (MemAvailable here, or the lab machine's RAM less its own needs), with a
// reserve for the kernel and twinboot: a one-line ErrTooLarge if not.
func (o Options) Fits(available uint64, where string) error {
	o = o.withDefaults()
	need := o.NeedBytes()
	if need+reserveBytes <= available {
		return nil
	}
	big := o.Plan()[len(o.Plan())-1]
	return fmt.Errorf("%w: %d VMs of %d MiB and %d containers may need up to %d MiB, and %s has %d MiB available (%d MiB kept in reserve): start fewer, give the VMs less --mem, or the lab machine more --l1-mem",
		ErrTooLarge, big.VMs, o.VMMemBytes/bytesPerMiB, big.Containers, need/bytesPerMiB, where, available/bytesPerMiB, reserveBytes/bytesPerMiB)
}

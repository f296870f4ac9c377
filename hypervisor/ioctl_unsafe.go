//go:build linux && amd64

package hypervisor

import (
	"fmt"
	"unsafe"

	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"
)

// The few ioctls gokvm does not wrap the way we need them.

const (
	kvmCreatePIT2Nr    = 0x77
	kvmPITSpeakerDummy = 1 // KVM_PIT_SPEAKER_DUMMY: KVM answers port 0x61 itself
)

// kvmPITConfig is struct kvm_pit_config.
type kvmPITConfig struct {
	Flags uint32
	_     [15]uint32
}

// createPIT2 creates the in-kernel i8254 timer. gokvm's wrapper passes no
// flags; we ask for the dummy PC speaker so that the guest's reads of port
// 0x61 (which carries the PIT's channel 2 output) are answered in the kernel
// and do not cost an exit each.
func createPIT2(vm uintptr) error {
	cfg := kvmPITConfig{Flags: kvmPITSpeakerDummy}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, vm,
		kvm.IIOW(kvmCreatePIT2Nr, unsafe.Sizeof(cfg)), uintptr(unsafe.Pointer(&cfg)))
	if errno != 0 {
		return fmt.Errorf("KVM_CREATE_PIT2: %w", errno)
	}
	return nil
}

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

// ioeventfd and irqfd: the two ways KVM lets a device skip the trip out to
// us (see virtio_mmio.go). gokvm wraps neither.
const (
	kvmIRQFDNr     = 0x76
	kvmIOEventFDNr = 0x79

	kvmIOEventFDFlagDatamatch = 1 << 0 // signal only when the value written matches
)

// kvmIOEventFD is struct kvm_ioeventfd.
type kvmIOEventFD struct {
	Datamatch uint64
	Addr      uint64
	Len       uint32
	FD        int32
	Flags     uint32
	_         [36]byte
}

// kvmIRQFD is struct kvm_irqfd.
type kvmIRQFD struct {
	FD         uint32
	GSI        uint32
	Flags      uint32
	ResampleFD uint32
	_          [16]byte
}

// ioeventfd asks KVM to signal fd, instead of exiting to us, when the
// guest writes the 4-byte value match at guest-physical addr.
func ioeventfd(vm uintptr, addr uint64, match uint32, fd int) error {
	e := kvmIOEventFD{Datamatch: uint64(match), Addr: addr, Len: 4, FD: int32(fd), Flags: kvmIOEventFDFlagDatamatch}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, vm,
		kvm.IIOW(kvmIOEventFDNr, unsafe.Sizeof(e)), uintptr(unsafe.Pointer(&e)))
	if errno != 0 {
		return fmt.Errorf("KVM_IOEVENTFD %#x=%d: %w", addr, match, errno)
	}
	return nil
}

// irqfd asks KVM to pulse interrupt line gsi whenever fd is written.
func irqfd(vm uintptr, gsi uint32, fd int) error {
	r := kvmIRQFD{FD: uint32(fd), GSI: gsi}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, vm,
		kvm.IIOW(kvmIRQFDNr, unsafe.Sizeof(r)), uintptr(unsafe.Pointer(&r)))
	if errno != 0 {
		return fmt.Errorf("KVM_IRQFD %d: %w", gsi, errno)
	}
	return nil
}

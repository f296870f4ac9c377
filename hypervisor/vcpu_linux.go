//go:build linux && amd64

package hypervisor

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"
)

// Offsets in struct kvm_run, the page KVM shares with us for each vCPU.
// After KVM_RUN returns, exit_reason says why, and the union at runUnion
// holds the details of that kind of exit.
const (
	runImmediateExit = 1  // u8: set to make the next KVM_RUN return at once
	runExitReason    = 8  // u32
	runUnion         = 32 // start of the per-exit-reason union

	// KVM_EXIT_IO: direction u8, size u8, port u16, count u32, data_offset u64.
	// The data itself lives in the same shared page at data_offset.
	ioDirOut = 1
)

// vcpu is one virtual CPU: a file descriptor to run it with and the shared
// kvm_run page.
type vcpu struct {
	id   int
	file *os.File
	run  []byte
	tid  atomic.Int32 // host thread running it, for kicking it out of KVM_RUN
}

func newVCPU(vm uintptr, id, runSize int, cpuid *kvm.CPUID) (*vcpu, error) {
	fd, err := kvm.CreateVCPU(vm, id)
	if err != nil {
		return nil, fmt.Errorf("KVM_CREATE_VCPU %d: %w", id, err)
	}
	v := &vcpu{id: id, file: os.NewFile(fd, fmt.Sprintf("kvm-vcpu-%d", id))}
	v.run, err = unix.Mmap(int(fd), 0, runSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		v.close()
		return nil, fmt.Errorf("map kvm_run of vCPU %d: %w", id, err)
	}
	if err := setCPUID(v.fd(), guestCPUID(cpuid, uint32(id))); err != nil {
		v.close()
		return nil, fmt.Errorf("vCPU %d: %w", id, err)
	}
	return v, nil
}

func (v *vcpu) fd() uintptr { return v.file.Fd() }

func (v *vcpu) exitReason() uint32 { return binary.LittleEndian.Uint32(v.run[runExitReason:]) }

// io decodes a KVM_EXIT_IO. String instructions (rep outsb) can move count
// items in one exit; data holds all of them back to back.
func (v *vcpu) io() (out bool, port uint16, size int, count int, data []byte, ok bool) {
	u := v.run[runUnion:]
	out = u[0] == ioDirOut
	size = int(u[1])
	port = binary.LittleEndian.Uint16(u[2:])
	count = int(binary.LittleEndian.Uint32(u[4:]))
	off := binary.LittleEndian.Uint64(u[8:])
	n := uint64(size) * uint64(count)
	if size == 0 || off > uint64(len(v.run)) || n > uint64(len(v.run))-off {
		return out, port, size, count, nil, false
	}
	return out, port, size, count, v.run[off : off+n], true
}

// mmio decodes a KVM_EXIT_MMIO: phys_addr u64, data [8]u8, len u32, is_write u8.
func (v *vcpu) mmio() (addr uint64, data []byte, write bool) {
	u := v.run[runUnion:]
	addr = binary.LittleEndian.Uint64(u)
	n := binary.LittleEndian.Uint32(u[16:])
	if n > 8 {
		n = 8
	}
	return addr, u[8 : 8+n], u[20] != 0
}

// internalError decodes KVM_EXIT_INTERNAL_ERROR's suberror.
func (v *vcpu) internalError() uint32 { return binary.LittleEndian.Uint32(v.run[runUnion:]) }

// failEntry decodes KVM_EXIT_FAIL_ENTRY's hardware reason.
func (v *vcpu) failEntry() uint64 { return binary.LittleEndian.Uint64(v.run[runUnion:]) }

// systemEvent decodes KVM_EXIT_SYSTEM_EVENT's type (1 shutdown, 2 reset, 3 crash).
func (v *vcpu) systemEvent() uint32 { return binary.LittleEndian.Uint32(v.run[runUnion:]) }

// kick makes the vCPU leave KVM_RUN soon: immediate_exit stops the next
// entry, and a signal to its thread interrupts the current one (KVM_RUN
// returns EINTR when a signal is pending). SIGURG is the one signal the Go
// runtime documents as harmless to deliver at any time: it uses it itself
// for preemption.
func (v *vcpu) kick() {
	v.run[runImmediateExit] = 1
	if tid := v.tid.Load(); tid != 0 {
		unix.Tgkill(unix.Getpid(), int(tid), unix.SIGURG)
	}
}

func (v *vcpu) close() error {
	var err error
	if v.run != nil {
		err = unix.Munmap(v.run)
		v.run = nil
	}
	if cerr := v.file.Close(); err == nil {
		err = cerr
	}
	return err
}

package hypervisor

import (
	"errors"
	"fmt"
	"os"

	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"
)

// kvmAPIVersion is the only KVM API version there has ever been in
// mainline; KVM_GET_API_VERSION returning anything else means a device we do
// not understand.
const kvmAPIVersion = 12

// system is the first of KVM's three levels of file descriptors: the device
// (/dev/kvm) answers questions about what KVM supports and creates VMs; a
// VM descriptor owns memory and interrupt controllers and creates vCPUs; a
// vCPU descriptor runs guest code.
type system struct {
	dev *os.File
}

// openSystem opens the KVM device and checks that it speaks our API.
func openSystem(path string) (*system, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("%w: %s does not exist (no KVM on this host; try nested mode)", ErrNoKVM, path)
	case errors.Is(err, os.ErrPermission):
		return nil, fmt.Errorf("%w: %s: %v (run as root or join the kvm group)", ErrKVMPermission, path, err)
	case err != nil:
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &system{dev: f}
	v, err := kvm.GetAPIVersion(s.fd())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: KVM_GET_API_VERSION on %s: %v (is it a KVM device?)", ErrKVMAPI, path, err)
	}
	if v != kvmAPIVersion {
		f.Close()
		return nil, fmt.Errorf("%w: %s speaks API version %d, want %d", ErrKVMAPI, path, v, kvmAPIVersion)
	}
	return s, nil
}

func (s *system) fd() uintptr { return s.dev.Fd() }

// vcpuMmapSize is the size of the shared "kvm_run" page each vCPU exposes:
// after every exit KVM writes there why the guest stopped.
func (s *system) vcpuMmapSize() (int, error) {
	n, err := kvm.GetVCPUMMmapSize(s.fd())
	if err != nil {
		return 0, fmt.Errorf("KVM_GET_VCPU_MMAP_SIZE: %w", err)
	}
	return int(n), nil
}

// createVM makes an empty VM: no memory, no vCPUs, no devices.
func (s *system) createVM() (*os.File, error) {
	fd, err := kvm.CreateVM(s.fd())
	if err != nil {
		return nil, fmt.Errorf("KVM_CREATE_VM: %w", err)
	}
	return os.NewFile(fd, "kvm-vm"), nil
}

func (s *system) close() error { return s.dev.Close() }

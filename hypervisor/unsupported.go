//go:build !(linux && amd64)

package hypervisor

import (
	"context"
	"fmt"
	"runtime"
)

// This hypervisor drives KVM on x86-64 Linux: the ioctls are Linux's and
// the boot protocols are x86's. Elsewhere the package still builds, so that
// the rest of twinboot does, and says plainly that it cannot run a VM.

// VM cannot exist on this platform.
type VM struct{}

// New always fails here with ErrUnsupported.
func New(cfg Config) (*VM, error) {
	return nil, fmt.Errorf("%w: twinboot's hypervisor needs Linux on x86-64 (this is %s/%s)", ErrUnsupported, runtime.GOOS, runtime.GOARCH)
}

// Run always fails here with ErrUnsupported.
func (*VM) Run(ctx context.Context) (Result, error) { return Result{}, ErrUnsupported }

// Close does nothing here.
func (*VM) Close() error { return nil }

// CheckKernel always fails here with ErrUnsupported.
func CheckKernel(kernel, initrd string) error {
	return fmt.Errorf("%w: twinboot's hypervisor needs Linux on x86-64 (this is %s/%s)", ErrUnsupported, runtime.GOOS, runtime.GOARCH)
}

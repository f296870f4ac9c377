package network

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/internal/owner"
)

// linkAddError names the kernel module a failed link creation points to:
// a kernel without bridge or veth (built in or loaded) answers
// EOPNOTSUPP to RTM_NEWLINK for that kind; one without tun has no
// /dev/net/tun.
func linkAddError(module, name string, err error) error {
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("%w: %s (add %s: %v; load it with modprobe %s, or build the kernel with it)", ErrNoModule, module, name, err, module)
	}
	return fmt.Errorf("add %s %s: %w", module, name, err)
}

func ownerSelf() (int, uint64, error) { return owner.Self() }

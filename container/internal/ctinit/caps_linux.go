package ctinit

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// dropBounding trims the bounding set. It needs CAP_SETPCAP, so it runs
// while the init is still root with every capability, before setIDs (a
// change of uid clears the effective set), as runc orders it.
func dropBounding(k *CapsOp) error {
	for n := uint(0); n <= lastCap(); n++ {
		if k.Bounding&(1<<n) == 0 {
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(n), 0, 0, 0); err != nil {
				return fmt.Errorf("drop capability %d from the bounding set: %w", n, err)
			}
		}
	}
	return nil
}

// applyCapabilities sets the other four capability sets of the calling
// thread, after dropBounding and setIDs: capset(2) sets effective,
// permitted and inheritable in one call; ambient capabilities last, since
// the kernel only accepts an ambient capability that is already permitted
// and inheritable.
func applyCapabilities(k *CapsOp) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(k.Effective), Permitted: uint32(k.Permitted), Inheritable: uint32(k.Inheritable)},
		{Effective: uint32(k.Effective >> 32), Permitted: uint32(k.Permitted >> 32), Inheritable: uint32(k.Inheritable >> 32)},
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	for _, n := range k.Ambient {
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(n), 0, 0); err != nil {
			return fmt.Errorf("raise ambient capability %d: %w", n, err)
		}
	}
	return nil
}

// lastCap is the highest capability this kernel knows
// (/proc/sys/kernel/cap_last_cap); dropping beyond it fails with EINVAL.
func lastCap() uint {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 40
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 8)
	if err != nil || n > 63 {
		return 40
	}
	return uint(n)
}

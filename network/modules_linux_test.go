package network

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A kernel without bridge or veth answers EOPNOTSUPP to RTM_NEWLINK for
// that kind, one without tun has no /dev/net/tun: each becomes ErrNoModule
// naming the module to load. Other failures stay what they are. (The
// modules cannot be unloaded on this host, so the kernel's side is not
// exercised here: this checks the mapping from its answers.)
func TestLinkAddErrorNamesTheModule(t *testing.T) {
	for _, tc := range []struct {
		module string
		err    error
		want   bool
	}{
		{"bridge", fmt.Errorf("netlink: %w", unix.EOPNOTSUPP), true},
		{"veth", unix.EOPNOTSUPP, true},
		{"tun", &os.PathError{Op: "open", Path: "/dev/net/tun", Err: unix.ENOENT}, true},
		{"tun", unix.ENODEV, true},
		{"bridge", unix.EPERM, false},
		{"veth", unix.EEXIST, false},
	} {
		err := linkAddError(tc.module, "tb0", tc.err)
		if got := errors.Is(err, ErrNoModule); got != tc.want {
			t.Errorf("%s, %v: ErrNoModule %v, want %v (%v)", tc.module, tc.err, got, tc.want, err)
		}
		if tc.want && !strings.Contains(err.Error(), "modprobe "+tc.module) {
			t.Errorf("%s: %q does not say which module to load", tc.module, err)
		}
		if !errors.Is(err, tc.err) && !tc.want {
			t.Errorf("%s: %v lost the kernel's error %v", tc.module, err, tc.err)
		}
	}
}

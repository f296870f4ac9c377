//go:build linux

package hypervisor

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// openTAP attaches to the existing TAP device name in the calling thread's
// network namespace and returns it as a frame backend: each Read is one
// frame, each Write one frame. IFF_NO_PI: no 4-byte packet-info prefix;
// no IFF_VNET_HDR, since the NIC offers no offloads. The file is
// non-blocking and served by Go's poller, so Close wakes a blocked Read.
//
// A TUNSETIFF with an unknown name would create a new device; attaching
// only to one that exists keeps host network configuration out of the
// VMM (the lab network creates TAPs, the VMM plugs into them).
func openTAP(name string) (*os.File, error) {
	if name == "" || len(name) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("%w: bad interface name %q", ErrNoTAP, name)
	}
	if err := interfaceExists(name); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNoTAP, name, err)
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: open /dev/net/tun: %v", ErrNoTAP, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err == nil {
		ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
		err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: attach to %s (is it a TAP device?): %v", ErrNoTAP, name, err)
	}
	return os.NewFile(uintptr(fd), "tap:"+name), nil
}

// OpenTAP attaches to the existing TAP device name inside the network
// namespace netns (empty: the calling thread's own), as the VMM does for a
// NIC; the QEMU peer of the lab network is handed the same kind of file
// (-netdev tap,fd=N), so that both VMMs sit on the same kind of TAP. The attach runs on a locked thread that enters
// the namespace and comes back; the open TAP keeps working from any
// thread. A thread that cannot come back stays locked and is thrown away
// by the Go runtime.
func OpenTAP(netns, name string) (*os.File, error) {
	if netns == "" {
		return openTAP(name)
	}
	type result struct {
		f   *os.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{nil, fmt.Errorf("%w: %s: open this thread's netns: %v", ErrNoTAP, name, err)}
			return
		}
		defer orig.Close()
		target, err := os.Open(netns)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{nil, fmt.Errorf("%w: %s: open netns %s: %v", ErrNoTAP, name, netns, err)}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- result{nil, fmt.Errorf("%w: %s: enter netns %s: %v", ErrNoTAP, name, netns, err)}
			return
		}
		f, err := openTAP(name)
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		done <- result{f, err}
	}()
	r := <-done
	return r.f, r.err
}

// interfaceExists asks the kernel, through a socket of the calling thread's
// network namespace, whether the interface exists there.
func interfaceExists(name string) error {
	s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFINDEX, ifr); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return errors.New("no such interface in this network namespace")
		}
		return err
	}
	return nil
}

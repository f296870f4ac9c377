package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// mountMissing mounts fstype on target unless target already is a mount
// point. A VM's PID 1 starts on a bare initramfs where nothing is mounted; a
// container's runtime usually mounted /proc already.
func mountMissing(target, fstype string) error {
	mounted, err := isMountPoint(target)
	if err != nil || mounted {
		return err
	}
	if err := unix.Mount(fstype, target, fstype, unix.MS_NOSUID|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount %s on %s: %w", fstype, target, err)
	}
	return nil
}

// needDevtmpfs says whether PID 1 should mount devtmpfs on /dev. devtmpfs is
// the kernel's own view of every device: right in a VM twinboot booted,
// where it brings /dev/ttyS0 for the shell, but in a container it would hand
// the host's devices to the guest. There the probe mounts it only when /dev
// is unusable (no /dev/null), and otherwise keeps what the runtime gave it.
func needDevtmpfs(ownKernel bool) bool {
	if ownKernel {
		return true
	}
	_, err := os.Stat("/dev/null")
	return err != nil
}

// isMountPoint says whether dir sits on a different file system than its
// parent. That is enough here: each essential mount point lives directly
// under "/". A missing directory is created, since mounting needs it.
func isMountPoint(dir string) (bool, error) {
	var st, parent unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		if !os.IsNotExist(err) {
			return false, fmt.Errorf("stat %s: %w", dir, err)
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			return false, fmt.Errorf("create %s: %w", dir, err)
		}
		return false, nil
	}
	if err := unix.Stat(dir+"/..", &parent); err != nil {
		return false, fmt.Errorf("stat %s/..: %w", dir, err)
	}
	return st.Dev != parent.Dev, nil
}

package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// essentialMounts are the file systems the probe needs to read the world. A
// VM's PID 1 starts on a bare initramfs where none of them are mounted.
var essentialMounts = []struct{ target, fstype string }{
	{"/proc", "proc"},
	{"/sys", "sysfs"},
	{"/dev", "devtmpfs"},
}

// mountEssentials mounts each essential file system whose mount point is not
// already a mount point. Errors are returned per mount, keyed "mount <path>",
// so the report says what was missing rather than the probe dying.
func mountEssentials() map[string]error {
	errs := map[string]error{}
	for _, m := range essentialMounts {
		mounted, err := isMountPoint(m.target)
		if err != nil {
			errs["mount "+m.target] = err
			continue
		}
		if mounted {
			continue
		}
		if err := unix.Mount(m.fstype, m.target, m.fstype, unix.MS_NOSUID|unix.MS_NOEXEC, ""); err != nil {
			errs["mount "+m.target] = fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err)
		}
	}
	return errs
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

package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// removeCgroupDirs kills every process in the given cgroup directories and
// removes them, deepest first. It is shared by a normal teardown and by the
// clean-up of a run whose parent was killed, so it trusts nothing: it works
// from directory names alone.
//
// A cgroup can only be removed once empty, and a SIGKILLed process leaves it
// a little after the signal, so removal is retried for up to about a second.
func removeCgroupDirs(dirs []string) error {
	var errs []error
	for _, dir := range dirs {
		if err := removeCgroupTree(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func removeCgroupTree(dir string) error {
	var subdirs []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			subdirs = append(subdirs, p)
		}
		return nil
	})
	for i := len(subdirs) - 1; i >= 0; i-- {
		d := subdirs[i]
		var err error
		for delay := time.Millisecond; ; delay *= 2 {
			for _, pid := range readPids(filepath.Join(d, "cgroup.procs")) {
				unix.Kill(pid, unix.SIGKILL)
			}
			err = unix.Rmdir(d)
			if err == nil || errors.Is(err, unix.ENOENT) || delay > 512*time.Millisecond {
				break
			}
			time.Sleep(delay)
		}
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("remove cgroup %s: %w", d, err)
		}
	}
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("remove cgroup %s: still present", dir)
	}
	return nil
}

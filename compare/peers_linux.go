package compare

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// startWithoutUnified starts cmd in a new mount namespace in which hidden
// is unmounted, without touching this process's view of the mounts. Call
// release once cmd has been waited for.
//
// The namespace belongs to one OS thread: a goroutine locks itself to a
// thread, unshares there, and forks from there, so the child inherits the
// thread's namespace. The goroutine then exits still locked, which makes the
// Go runtime throw that thread away instead of reusing it elsewhere. It must
// live until the child is gone: Pdeathsig fires when the forking thread
// exits, not the process. This costs the peer nothing at spawn (no wrapper
// process such as unshare(1)), so its time to READY stays comparable.
//
// The main thread is never used: /proc/self/* shows the main thread's
// namespaces, and Go parks rather than ends a main thread left locked, so a
// change there would be visible to the whole process for good.
func startWithoutUnified(cmd *exec.Cmd, hidden string) (release func(), err error) {
	errc := make(chan error, 1)
	done := make(chan struct{})
	var inMain []chan struct{} // goroutines holding the main thread, to free after
	defer func() {
		for _, c := range inMain {
			close(c)
		}
	}()
	for {
		onMain := make(chan bool, 1)
		free := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			if unix.Gettid() == unix.Getpid() {
				// Hold the main thread so the next try lands elsewhere;
				// it was not changed, so it can be unlocked afterwards.
				onMain <- true
				<-free
				runtime.UnlockOSThread()
				return
			}
			onMain <- false
			// Never unlocked from here on, on purpose (see above).
			errc <- enterWithout(hidden, cmd)
			<-done
		}()
		if !<-onMain {
			break
		}
		inMain = append(inMain, free)
	}
	if err := <-errc; err != nil {
		close(done)
		return nil, err
	}
	return func() { close(done) }, nil
}

// enterWithout runs on a locked, non-main thread: new mount namespace,
// hidden unmounted, cmd started.
func enterWithout(hidden string, cmd *exec.Cmd) error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare mount namespace: %w", err)
	}
	// Private first, so that the unmount does not propagate to the host.
	if err := unix.Mount("", "/", "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	if err := unix.Unmount(hidden, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount %s: %w", hidden, err)
	}
	return cmd.Start()
}

// rootIsRamfs reports whether "/" is the initial ramfs (as in the nested-mode
// lab machine, which runs from its initramfs), where pivot_root fails with
// EINVAL: that root can never be unmounted.
func rootIsRamfs() bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	return topRootFSType(b) == "rootfs"
}

// topRootFSType is the file system type of the topmost mount on "/" in a
// mountinfo file: "id parent major:minor root mountpoint options [tags] -
// fstype source superoptions".
func topRootFSType(mountinfo []byte) string {
	fstype := ""
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 1 || f[4] != "/" {
			continue
		}
		fstype = g[0]
	}
	return fstype
}

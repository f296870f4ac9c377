package ctinit

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// The init talks to its parent over two pipes passed as extra files, and is
// started through a third.
const (
	ConfigFD = 3 // parent → init: the encoded Config, then "go\n"
	StatusFD = 4 // init → parent: "pivot <ns>", "exec <ns>" or "error <text>"; EOF at exec
	ExeFD    = 5 // the init's own binary
	// FifoFD is, for a detached init (an OCI `create`), the exec FIFO in
	// the container's state directory, opened O_PATH by the parent. The
	// init reopens it for writing through /proc/self/fd, which blocks until
	// `start` opens it for reading: that is the whole of `start`.
	FifoFD = 6
)

// Main is the container's init: the re-executed runtime, PID 1 in the new
// namespaces, which prepares the container and then replaces itself with the
// workload. It returns an exit status only if that fails.
func Main() int {
	// Everything below changes per-thread state (cgroup namespace,
	// capabilities) that execve keeps only for the thread that calls it.
	runtime.LockOSThread()
	status := os.NewFile(StatusFD, "init-status")
	err := initContainer(status)
	fmt.Fprintf(status, "error %s\n", oneLine(err.Error()))
	return 1
}

func initContainer(status *os.File) error {
	unix.CloseOnExec(ExeFD)
	cfgPipe := os.NewFile(ConfigFD, "init-config")
	r := bufio.NewReader(cfgPipe)
	c, err := Decode(r)
	if err != nil {
		return err
	}
	if c.Join {
		// An exec: the parent started this process inside the running
		// container's namespaces; its root exists already.
		return joinContainer(c, r, status)
	}
	if c.Hostname != "" {
		if err := unix.Sethostname([]byte(c.Hostname)); err != nil {
			return fmt.Errorf("sethostname: %w", err)
		}
	}
	if err := setupRootfs(c); err != nil {
		return err
	}
	fmt.Fprintf(status, "pivot %d\n", MonotonicNow())

	// Wait until the parent has put this process into its cgroup: the
	// cgroup namespace must be rooted there, and the workload must never run
	// outside its limits.
	goLine, err := r.ReadString('\n')
	if err != nil || goLine != "go\n" {
		return fmt.Errorf("parent did not confirm the cgroup (%q, %v)", goLine, err)
	}
	cfgPipe.Close()
	if c.CgroupNS {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("unshare cgroup namespace: %w", err)
		}
	}
	for _, m := range c.CgroupMounts {
		if err := mountCgroupFS(m, c.CgroupVersion); err != nil {
			return err
		}
	}
	if err := setupProcess(c); err != nil {
		return err
	}
	// The status pipe closes itself at a successful exec; that EOF is how
	// the parent knows the workload is running.
	if _, err := unix.FcntlInt(StatusFD, unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		return fmt.Errorf("set close-on-exec on status pipe: %w", err)
	}
	fmt.Fprintf(status, "exec %d\n", MonotonicNow())
	if c.Detached {
		if err := awaitStart(status); err != nil {
			// Nobody reads the status pipe any more: the error goes to
			// the container's stderr, which `create` passed through.
			fmt.Fprintf(os.Stderr, "twinboot-init: %s\n", err)
			os.Exit(1)
		}
	}
	return execWorkload(c)
}

// execWorkload is the last step of every init, a container's first process
// or one joining it: the memory rlimits (they would starve the init's own Go
// runtime earlier), the seccomp filter (last, so that it judges the workload
// and not the init's set-up), and execve.
func execWorkload(c *Config) error {
	if err := setRlimits(c.Rlimits, true); err != nil {
		return err
	}
	if c.Seccomp != nil && c.NoNewPrivs {
		if err := loadSeccomp(c.Seccomp); err != nil {
			return err
		}
	}
	err := unix.Exec(c.Exe, c.Args, c.Env)
	return fmt.Errorf("exec %s: %w", c.Exe, err)
}

// joinContainer is the init of a process added to a running container (an
// OCI exec): no root to build, only the cgroup to wait for and the process
// settings to apply, as for the container's first process.
func joinContainer(c *Config, r *bufio.Reader, status *os.File) error {
	if !c.Detached {
		// Set here, not by the parent's SysProcAttr.Pdeathsig: Go's
		// fork checks getppid() after setting it, and in the container's
		// PID namespace the parent is invisible (0), which Go takes for
		// a dead parent.
		if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
			return fmt.Errorf("pdeathsig: %w", err)
		}
	}
	fmt.Fprintf(status, "pivot %d\n", MonotonicNow())
	goLine, err := r.ReadString('\n')
	if err != nil || goLine != "go\n" {
		return fmt.Errorf("parent did not confirm the cgroup (%q, %v)", goLine, err)
	}
	os.NewFile(ConfigFD, "init-config").Close()
	if err := setupProcess(c); err != nil {
		return err
	}
	if _, err := unix.FcntlInt(StatusFD, unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		return fmt.Errorf("set close-on-exec on status pipe: %w", err)
	}
	return execWorkload(c)
}

// awaitStart is where a created container waits: the status pipe is closed
// (the EOF tells `create` that the container is ready and it may exit), then
// opening the FIFO for writing blocks until `start` opens it for reading.
// The byte written tells `start` that it was this init that it released.
func awaitStart(status *os.File) error {
	if err := status.Close(); err != nil {
		return fmt.Errorf("close status pipe: %w", err)
	}
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(FifoFD), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	unix.Close(FifoFD)
	if _, err := unix.Write(fd, []byte("0")); err != nil {
		unix.Close(fd)
		return fmt.Errorf("write exec fifo: %w", err)
	}
	return unix.Close(fd)
}

// setRlimits applies the limits on memory (late) or all the others. The
// memory ones wait until just before execve: a limit on the address space
// or the stack starves the init's own Go runtime, which has reserved address
// space and may need a thread more while a created container waits for
// start. Lowering a limit needs no privilege, so the capabilities dropped by
// then do not matter, unless the config raises one above the runtime's own.
func setRlimits(limits []RlimitOp, late bool) error {
	for _, rl := range limits {
		memory := rl.Resource == unix.RLIMIT_AS || rl.Resource == unix.RLIMIT_DATA || rl.Resource == unix.RLIMIT_STACK
		if memory != late {
			continue
		}
		lim := unix.Rlimit{Cur: rl.Soft, Max: rl.Hard}
		if err := unix.Setrlimit(rl.Resource, &lim); err != nil {
			return fmt.Errorf("setrlimit %d: %w", rl.Resource, err)
		}
	}
	return nil
}

// setupProcess applies the OCI process settings, in the order the kernel
// needs: limits and working directory while still root, then the ids, then
// the capabilities that survive into the workload, then no_new_privs. The
// seccomp filter comes last of all, just before execve (initContainer),
// unless no_new_privs is off (see below).
func setupProcess(c *Config) error {
	if err := setRlimits(c.Rlimits, false); err != nil {
		return err
	}
	if c.OOMScoreAdj != nil {
		if err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(*c.OOMScoreAdj)), 0); err != nil {
			return fmt.Errorf("oom_score_adj: %w", err)
		}
	}
	if err := unix.Chdir(c.Cwd); err != nil {
		return fmt.Errorf("chdir %s: %w", c.Cwd, err)
	}
	if c.Seccomp != nil && !c.NoNewPrivs {
		// Without no_new_privs the kernel takes a filter only from a
		// thread with CAP_SYS_ADMIN, which the next steps may drop; the
		// filter then also judges them (runc orders it the same way).
		if err := loadSeccomp(c.Seccomp); err != nil {
			return err
		}
	}
	if c.Caps != nil {
		if err := dropBounding(c.Caps); err != nil {
			return err
		}
	}
	if err := setIDs(c.UID, c.GID, c.Groups, c.Caps != nil, !c.Detached); err != nil {
		return err
	}
	if c.Caps != nil {
		if err := applyCapabilities(c.Caps); err != nil {
			return err
		}
	}
	if c.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("no_new_privs: %w", err)
		}
	}
	return nil
}

// setIDs switches to the configured user. Raw syscalls on purpose: Go's
// syscall.Setuid changes every thread of the runtime, but this init only
// cares about the locked thread that will call execve, and the runtime-wide
// version would also reset the capabilities it is about to set.
func setIDs(uid, gid uint32, groups []uint32, keepCaps, pdeathsig bool) error {
	if uid == 0 && gid == 0 && len(groups) == 0 {
		return nil
	}
	if keepCaps {
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("keepcaps: %w", err)
		}
	}
	if err := setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGID, uintptr(gid), 0, 0); e != 0 {
		return fmt.Errorf("setgid %d: %w", gid, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETUID, uintptr(uid), 0, 0); e != 0 {
		return fmt.Errorf("setuid %d: %w", uid, e)
	}
	// A change of credentials clears the parent-death signal; restore it
	// so that the workload still dies with the runtime (unless it is meant
	// to outlive it: a created container).
	if !pdeathsig {
		return nil
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("pdeathsig: %w", err)
	}
	return nil
}

func oneLine(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '\n' {
			b[i] = ' '
		}
	}
	return string(b)
}

// MonotonicNow reads CLOCK_MONOTONIC, the clock the parent's phases use; it
// is the same in every PID namespace, so the init's timestamps line up.
func MonotonicNow() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

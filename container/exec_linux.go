package container

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/container/internal/ctinit"
	"github.com/twinboot/twinboot/internal/reexec"
)

// ErrExecUserNS is exec into a container with a user namespace: setns(2)
// into a user namespace is refused to a multithreaded process, and a Go
// program always is one. (runc does it from C code that runs before the Go
// runtime starts; this runtime has no C.)
var ErrExecUserNS = errors.New("exec into a container with a user namespace is not supported: setns into a user namespace needs a single-threaded process, which a Go runtime never is")

// ExecOptions is one process added to a running container (an OCI exec).
// Everything not given here comes from the container's config.json, as the
// container's first process had it: user, capabilities, no_new_privs,
// seccomp, rlimits, environment (Env is added to it).
type ExecOptions struct {
	Args                  []string
	Env                   []string
	Cwd                   string
	User                  *specs.User // nil: the config's
	Stdin, Stdout, Stderr *os.File
	Detach                bool   // the process outlives this one (no parent-death signal)
	Init                  string // as Spec.Init
}

// namespaces joined by exec, in this order: the mount namespace last, since
// after it /proc is the container's and the others' paths would be wrong
// (they are opened before any is joined, anyway).
var execNamespaces = []struct {
	name string
	flag int
}{
	{"cgroup", unix.CLONE_NEWCGROUP}, {"ipc", unix.CLONE_NEWIPC}, {"uts", unix.CLONE_NEWUTS},
	{"net", unix.CLONE_NEWNET}, {"pid", unix.CLONE_NEWPID}, {"mnt", unix.CLONE_NEWNS},
}

// Exec starts a process in the container's namespaces and cgroup and
// returns it started; the caller waits for it.
//
// How, in a Go program: a goroutine locks itself to its OS thread, gives
// that thread a file-system context of its own (unshare(CLONE_FS): setns
// into a mount namespace is refused to a thread that shares it with
// others), joins the container's namespaces one by one, and starts the
// init binary from that thread, whose clone(2) inherits them (the PID
// namespace applies to children only, which is why a child is needed). The
// thread is never unlocked, so the Go runtime discards it afterwards instead
// of running other goroutines in the container's namespaces.
func (c *Container) Exec(o ExecOptions) (*exec.Cmd, error) {
	if s := c.Status(); s != StatusRunning {
		return nil, fmt.Errorf("%w: cannot exec in container %s: it is %s, not running", ErrBadStatus, c.st.ID, s)
	}
	if len(o.Args) == 0 || o.Args[0] == "" {
		return nil, ErrNoArgs
	}
	cfg, err := resolve(Spec{Bundle: c.st.OCI.Bundle})
	if err != nil {
		return nil, fmt.Errorf("exec: re-read the container's config: %w", err)
	}
	if hasNamespace(cfg.OCI.Linux, specs.UserNamespace) {
		return nil, ErrExecUserNS
	}
	pid := c.st.OCI.Pid
	root := "/proc/" + strconv.Itoa(pid) + "/root"
	p := cfg.OCI.Process
	env := append(append([]string(nil), p.Env...), o.Env...)
	exe, err := lookPath(root, o.Args[0], env)
	if err != nil {
		return nil, err
	}
	cfg.Exe = exe
	p.Args, p.Env = o.Args, env
	if o.Cwd != "" {
		p.Cwd = o.Cwd
	}
	if o.User != nil {
		p.User = *o.User
	}
	ic := newInitConfig(cfg, "", "", false, "")
	ic.Join, ic.Detached = true, o.Detach

	// Every namespace is opened while /proc is still this process's.
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for _, ns := range execNamespaces {
		if !hasNamespace(cfg.OCI.Linux, nsType(ns.name)) {
			continue
		}
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/%s", pid, ns.name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("exec: open %s namespace of %d: %w", ns.name, pid, err)
		}
		fds = append(fds, fd, ns.flag)
	}
	exeFile, _, err := openInit(o.Init)
	if err != nil {
		return nil, err
	}
	defer exeFile.Close()
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("config pipe: %w", err)
	}
	defer cfgW.Close()
	statR, statW, err := os.Pipe()
	if err != nil {
		cfgR.Close()
		return nil, fmt.Errorf("status pipe: %w", err)
	}
	defer statR.Close()
	cmd := &exec.Cmd{
		Path:        "/proc/self/fd/" + strconv.Itoa(ctinit.ExeFD),
		Args:        []string{"twinboot-init"},
		Env:         []string{reexec.Env + "=" + ReexecName},
		ExtraFiles:  []*os.File{cfgR, statW, exeFile},
		Dir:         "/",
		SysProcAttr: &syscall.SysProcAttr{},
	}
	// (No SysProcAttr.Pdeathsig: the init sets it itself; see
	// ctinit.joinContainer.)
	if o.Stdin != nil {
		cmd.Stdin = o.Stdin
	}
	if o.Stdout != nil {
		cmd.Stdout = o.Stdout
	}
	if o.Stderr != nil {
		cmd.Stderr = o.Stderr
	}
	startErr := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: this thread ends with the goroutine.
		startErr <- startInNamespaces(cmd, fds)
	}()
	err = <-startErr
	cfgR.Close()
	statW.Close()
	if err != nil {
		return nil, err
	}
	if err := joinExec(cmd, c.st.Cgroups, ic, cfgW, statR); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, err
	}
	return cmd, nil
}

func startInNamespaces(cmd *exec.Cmd, fds []int) error {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("exec: unshare file-system context: %w", err)
	}
	for i := 0; i < len(fds); i += 2 {
		if err := unix.Setns(fds[i], fds[i+1]); err != nil {
			return fmt.Errorf("exec: setns: %w", err)
		}
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("exec: start the process: %w", err)
	}
	return nil
}

// joinExec sends the init its config, puts it in the container's cgroups
// and lets it execute the command.
func joinExec(cmd *exec.Cmd, cgroupDirs []string, ic *ctinit.Config, cfgW, statR *os.File) error {
	if _, err := cfgW.Write(ic.Encode()); err != nil {
		return fmt.Errorf("exec: send init config: %w", err)
	}
	status := bufio.NewScanner(statR)
	for status.Scan() {
		kind, arg, _ := strings.Cut(status.Text(), " ")
		switch kind {
		case "pivot":
			for _, d := range cgroupDirs {
				if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0); err != nil {
					return fmt.Errorf("exec: join cgroup %s: %w", d, err)
				}
			}
			if _, err := cfgW.Write([]byte("go\n")); err != nil {
				return fmt.Errorf("exec: release init: %w", err)
			}
		case "error":
			return fmt.Errorf("%w: %s", ErrInit, arg)
		}
	}
	return nil
}

func nsType(name string) specs.LinuxNamespaceType {
	switch name {
	case "mnt":
		return specs.MountNamespace
	case "net":
		return specs.NetworkNamespace
	}
	return specs.LinuxNamespaceType(name)
}

// SignalAll sends sig to every process in the container's cgroup (kill
// --all).
func (c *Container) SignalAll(sig unix.Signal) error {
	switch s := c.Status(); s {
	case StatusCreated, StatusRunning:
	default:
		return fmt.Errorf("%w: cannot kill container %s: it is %s", ErrBadStatus, c.st.ID, s)
	}
	seen := map[int]bool{}
	for _, d := range c.st.Cgroups {
		for _, pid := range readPids(filepath.Join(d, "cgroup.procs")) {
			if !seen[pid] {
				seen[pid] = true
				unix.Kill(pid, sig)
			}
		}
	}
	return nil
}

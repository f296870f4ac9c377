package container

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/container/internal/ctinit"
	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/reexec"
)

// Run starts one container, waits for it to exit, removes everything it
// created on the host, and reports what it measured. An error means the
// container could not be started or set up; a workload that ran and failed
// is a Result with its exit code and reason.
func Run(ctx context.Context, s Spec) (Result, error) {
	ph := &phases{t0: ctinit.MonotonicNow(), events: s.Events}
	ph.mark(PhaseProcessStart, ph.t0)
	res := Result{CgroupVersion: cgroupVersion()}

	if os.Geteuid() != 0 {
		return res, ErrNotRoot
	}
	cfg, err := resolve(s)
	if err != nil {
		return res, err
	}
	if err := CleanupStale(); err != nil {
		s.Events.Emit(event.Log{Side: event.Container, Msg: err.Error()})
	}
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}

	res.ID = newID()
	st, err := newState(res.ID)
	if err != nil {
		return res, err
	}
	defer func() {
		if err := st.remove(); err != nil {
			s.Events.Emit(event.Log{Side: event.Container, Msg: "cleanup: " + err.Error()})
		}
	}()
	overlay := !cfg.OCI.Root.Readonly
	if overlay {
		if err := makeOverlayDirs(st, cfg.OCI.Linux); err != nil {
			return res, err
		}
	}
	cgName := "twinboot-" + res.ID
	if p := cfg.OCI.Linux.CgroupsPath; p != "" {
		cgName = p
	}
	cg, err := newCgroupAt(cgName, cfg.OCI.Linux.Resources, st.recordCgroups)
	if err != nil {
		return res, err
	}
	res.CgroupVersion = cg.version
	s.Events.Emit(Cgroup{ID: res.ID, Version: cg.version, Memory: cg.memDir})
	ph.mark(PhaseCgroupReady, ctinit.MonotonicNow())

	r := &runner{s: s, cfg: cfg, cg: cg, ph: ph, st: st, overlay: overlay, rootfs: cfg.Rootfs}
	if overlay && hasNamespace(cfg.OCI.Linux, specs.UserNamespace) {
		if r.rootfs, err = mountHostOverlay(st, cfg.Rootfs); err != nil {
			return res, err
		}
		r.overlay, r.hostOverlay = false, true
	}
	if hs := cfg.OCI.Hooks; hs != nil {
		r.hooks(hs, res.ID)
		// Poststop runs once the container is gone and cleaned up (this
		// defer runs before the state's removal above, so remove first).
		defer func() {
			if err := st.remove(); err != nil {
				s.Events.Emit(event.Log{Side: event.Container, Msg: "cleanup: " + err.Error()})
			}
			warnHooks(s.Stderr, "poststop", hs.Poststop, r.hookState(res.ID, StatusStopped, 0))
		}()
	}
	if s.Attach != nil {
		hooks := r.onPivot
		r.onPivot = func(pid int) error {
			if err := s.Attach(pid); err != nil {
				return err
			}
			if hooks != nil {
				return hooks(pid)
			}
			return nil
		}
	}
	if err := r.start(); err != nil {
		return res, err
	}
	return r.wait(ctx, res)
}

// hooks makes Run run a bundle's hooks where the runtime-spec puts them:
// prestart and createRuntime once the init's namespaces exist (a failure
// fails the run), poststart once the workload runs (logged), poststop after
// the teardown (logged; see Run).
func (r *runner) hooks(hs *specs.Hooks, id string) {
	r.onPivot = func(pid int) error {
		st := r.hookState(id, StatusCreating, pid)
		if err := runHooks("prestart", hs.Prestart, st); err != nil {
			return err
		}
		return runHooks("createRuntime", hs.CreateRuntime, st)
	}
	r.onExec = func(pid int) {
		warnHooks(r.s.Stderr, "poststart", hs.Poststart, r.hookState(id, StatusRunning, pid))
	}
}

func (r *runner) hookState(id, status string, pid int) specs.State {
	return specs.State{Version: specs.Version, ID: id, Status: specs.ContainerState(status), Pid: pid,
		Bundle: r.s.Bundle, Annotations: r.cfg.OCI.Annotations}
}

// runner is one started container, between Start and Wait.
type runner struct {
	s       Spec
	cfg     *config
	cg      *cgroup
	ph      *phases
	st      *state
	overlay bool // the init mounts the overlay
	// hostOverlay: the parent mounted it (user namespace) at rootfs, and
	// detaches it from the host once the init has pivoted.
	hostOverlay bool
	rootfs      string

	// An OCI `create` (lifecycle_linux.go) sets these: the init outlives
	// this process and waits on fifo; its stdio are stdio, passed straight
	// through; onPivot runs the createRuntime hooks before the init goes on.
	detached bool
	fifo     *os.File
	stdio    [3]*os.File
	onPivot  func(pid int) error
	onExec   func(pid int) // Run's poststart hooks

	cmd            *exec.Cmd
	stdout, stderr *lineWriter
	cfgW, statR    *os.File
	status         *bufio.Scanner // lines from the init, over statR

	mu     sync.Mutex
	report *report.Report
	mem    Memory
}

func (r *runner) start() error {
	exe, _, err := openInit(r.s.Init)
	if err != nil {
		return err
	}
	defer exe.Close()
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("config pipe: %w", err)
	}
	statR, statW, err := os.Pipe()
	if err != nil {
		cfgR.Close()
		cfgW.Close()
		return fmt.Errorf("status pipe: %w", err)
	}
	r.cfgW, r.statR = cfgW, statR
	r.stdout = &lineWriter{out: r.s.Stdout, events: r.s.Events, onLine: r.onLine}
	r.stderr = &lineWriter{out: r.s.Stderr, events: r.s.Events}

	attr, err := r.sysProcAttr()
	if err != nil {
		return err
	}
	if fd, ok := r.cg.openDir(); ok {
		defer unix.Close(fd)
		attr.UseCgroupFD, attr.CgroupFD = true, fd
	}
	// The init binary is reached through an open descriptor (see openInit).
	// The environment selects the init in a re-executed twinboot and is
	// ignored by twinboot-init.
	r.cmd = &exec.Cmd{
		Path:        "/proc/self/fd/" + strconv.Itoa(ctinit.ExeFD),
		Args:        []string{"twinboot-init"},
		Env:         []string{reexec.Env + "=" + ReexecName},
		Stdin:       r.s.Stdin,
		Stdout:      childOutput(r.s.Stdout, r.stdout),
		Stderr:      childOutput(r.s.Stderr, r.stderr),
		ExtraFiles:  []*os.File{cfgR, statW, exe},
		SysProcAttr: attr,
		WaitDelay:   2 * time.Second,
	}
	if r.detached {
		// *os.File values go to the init as they are: no pipe, no
		// goroutine copying, nothing that needs this process to live.
		// (A nil file must stay a nil interface: exec.Cmd then opens
		// /dev/null.)
		r.cmd.Stdin, r.cmd.Stdout, r.cmd.Stderr = nil, nil, nil
		if f := r.stdio[0]; f != nil {
			r.cmd.Stdin = f
		}
		if f := r.stdio[1]; f != nil {
			r.cmd.Stdout = f
		}
		if f := r.stdio[2]; f != nil {
			r.cmd.Stderr = f
		}
		r.cmd.ExtraFiles = append(r.cmd.ExtraFiles, r.fifo)
	}
	err = r.cmd.Start()
	cfgR.Close()
	statW.Close()
	if err != nil {
		cfgW.Close()
		statR.Close()
		return fmt.Errorf("start container init: %w", err)
	}
	r.ph.mark(PhaseClone, ctinit.MonotonicNow())
	return nil
}

// sysProcAttr turns the config's namespaces into clone flags. The cgroup
// namespace is the exception: the init enters it itself, after it has been
// moved into its cgroup, so that the namespace is rooted there.
func (r *runner) sysProcAttr() (*syscall.SysProcAttr, error) {
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if r.detached {
		// A created container lives on after `create` exits; `delete`
		// cleans it up.
		attr.Pdeathsig = 0
	}
	l := r.cfg.OCI.Linux
	for _, ns := range l.Namespaces {
		switch ns.Type {
		case specs.PIDNamespace:
			attr.Cloneflags |= unix.CLONE_NEWPID
		case specs.NetworkNamespace:
			attr.Cloneflags |= unix.CLONE_NEWNET
		case specs.MountNamespace:
			attr.Cloneflags |= unix.CLONE_NEWNS
		case specs.IPCNamespace:
			attr.Cloneflags |= unix.CLONE_NEWIPC
		case specs.UTSNamespace:
			attr.Cloneflags |= unix.CLONE_NEWUTS
		case specs.UserNamespace:
			attr.Cloneflags |= unix.CLONE_NEWUSER
			attr.UidMappings = idMaps(l.UIDMappings)
			attr.GidMappings = idMaps(l.GIDMappings)
			attr.GidMappingsEnableSetgroups = true
			// Creating the namespace gives the child every capability in
			// it, but it is still host root, a uid the namespace does not
			// map; execve would drop those capabilities. Becoming the
			// namespace's root first (host uid userNSBase) keeps them.
			attr.Credential = &syscall.Credential{Uid: 0, Gid: 0}
		}
	}
	return attr, nil
}

func idMaps(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(m))
	for i, e := range m {
		out[i] = syscall.SysProcIDMap{ContainerID: int(e.ContainerID), HostID: int(e.HostID), Size: int(e.Size)}
	}
	return out
}

// wait drives a started container to its end: send the config, put the init
// in its cgroup, follow the init's progress, enforce the timeout, collect.
func (r *runner) wait(ctx context.Context, res Result) (Result, error) {
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = r.cmd.Wait()
		close(exited)
	}()
	var timedOut, canceled atomic.Bool
	go func() {
		select {
		case <-ctx.Done():
			timedOut.Store(errors.Is(ctx.Err(), context.DeadlineExceeded))
			canceled.Store(!timedOut.Load())
			r.cmd.Process.Kill()
		case <-exited:
		}
	}()
	if r.s.ForwardSignals {
		sigs := make(chan os.Signal, 4)
		// SIGHUP too: a closed terminal must end the container through
		// its own exit (and the run's clean-up), not kill the runtime
		// and leave the cgroup behind.
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
		defer signal.Stop(sigs)
		go func() {
			for {
				select {
				case sig := <-sigs:
					r.cmd.Process.Signal(sig)
				case <-exited:
					return
				}
			}
		}()
	}

	initErr := r.handshake()
	r.cfgW.Close()
	if initErr != nil {
		// The init cannot go on; do not wait for it to notice.
		r.cmd.Process.Kill()
	} else if r.onExec != nil {
		r.onExec(r.cmd.Process.Pid)
	}
	<-exited
	r.statR.Close()
	r.stdout.flush()
	r.stderr.flush()

	res.Phases = r.ph.get()
	r.mu.Lock()
	res.Report, res.Memory = r.report, r.mem
	res.OnTerminal = onTerminal(r.s.Stdout)
	r.mu.Unlock()
	if peak, err := r.cg.peak(); err == nil {
		res.Memory.CgroupPeakBytes = peak
	}
	if initErr != nil {
		return res, initErr
	}
	if canceled.Load() {
		// The caller gave up; the container was killed for it.
		return res, fmt.Errorf("container %s: %w", res.ID, ctx.Err())
	}
	ps := r.cmd.ProcessState
	if ps == nil {
		return res, fmt.Errorf("wait for container: %w", waitErr)
	}
	ws := ps.Sys().(syscall.WaitStatus)
	oomKills, oomErr := r.cg.oomKills()
	res.OOMKills = oomKills
	switch {
	case timedOut.Load():
		res.Reason, res.ExitCode = ReasonTimeout, -1
		if ws.Signaled() {
			res.Signal = unix.SignalName(ws.Signal())
		}
	case ws.Signaled():
		res.Reason, res.Signal, res.ExitCode = ReasonSignaled, unix.SignalName(ws.Signal()), 128+int(ws.Signal())
		if oomErr == nil && oomKills > 0 && ws.Signal() == syscall.SIGKILL {
			res.Reason = ReasonOOMKilled
		}
	default:
		res.Reason, res.ExitCode = ReasonExited, ws.ExitStatus()
		// A workload whose child was OOM-killed may still exit on its own;
		// the reason stays "exited", but the kill is not hidden.
		if oomKills > 0 {
			r.s.Events.Emit(event.Log{Side: event.Container, Msg: fmt.Sprintf("%d process(es) killed by the OOM killer", oomKills)})
		}
	}
	return res, nil
}

// handshake sends the init its config, moves it into the cgroup, lets it go
// on once its root is ready, and follows its status pipe until it executes
// the workload (EOF) or reports an error.
func (r *runner) handshake() error {
	r.status = bufio.NewScanner(r.statR)
	ic := newInitConfig(r.cfg, r.rootfs, r.st.dir, r.overlay, r.cg.version)
	ic.Detached = r.detached
	b := ic.Encode()
	if _, err := r.cfgW.Write(b); err != nil {
		return r.initFailed(fmt.Errorf("send init config: %w", err))
	}
	// While the init builds its root file system, join it to the cgroup:
	// on v1 this is the slow step, and the two overlap.
	if r.cg.v1 != nil || !r.cmd.SysProcAttr.UseCgroupFD {
		if err := r.cg.add(r.cmd.Process.Pid); err != nil {
			return r.initFailed(err)
		}
	}
	released := false
	for r.status.Scan() {
		kind, arg, _ := strings.Cut(r.status.Text(), " ")
		switch kind {
		case "pivot", "exec":
			ns, err := strconv.ParseInt(arg, 10, 64)
			if err != nil {
				return fmt.Errorf("%w: bad status line %q", ErrInit, r.status.Text())
			}
			name := PhasePivotRoot
			if kind == "exec" {
				name = PhaseExec
			}
			r.ph.mark(name, ns)
			if kind == "pivot" && r.hostOverlay {
				if err := detachHostOverlay(r.st); err != nil {
					return err
				}
			}
			if kind == "pivot" && r.onPivot != nil {
				if err := r.onPivot(r.cmd.Process.Pid); err != nil {
					return err
				}
			}
			if kind == "pivot" {
				// The init's Go runtime has started all the threads it
				// needs by now; the pids limit can no longer kill it
				// (see limitPids).
				if err := r.cg.limitPids(); err != nil {
					return err
				}
				if _, err := r.cfgW.Write([]byte("go\n")); err != nil {
					return r.initFailed(fmt.Errorf("release init: %w", err))
				}
				released = true
			}
		case "error":
			return fmt.Errorf("%w: %s", ErrInit, arg)
		}
	}
	if !released {
		return fmt.Errorf("%w: the init exited before its root file system was ready", ErrInit)
	}
	return nil
}

// initFailed prefers the init's own explanation, when it left one, to the
// broken-pipe error its death caused here.
func (r *runner) initFailed(err error) error {
	r.statR.SetReadDeadline(time.Now().Add(time.Second))
	for r.status.Scan() {
		if msg, ok := strings.CutPrefix(r.status.Text(), "error "); ok {
			return fmt.Errorf("%w: %s", ErrInit, msg)
		}
	}
	return err
}

// onLine watches the workload's stdout for the READY report.
func (r *runner) onLine(line string) {
	if !strings.Contains(line, report.Prefix) {
		return
	}
	now := ctinit.MonotonicNow()
	rep, err := report.Parse(line)
	if err != nil {
		r.s.Events.Emit(event.Log{Side: event.Container, Msg: err.Error()})
		return
	}
	r.ph.mark(PhaseReady, now)
	rss, pss, ok := sampleProcesses(r.cg.pids())
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.report == nil {
		r.report = &rep
		r.mem = Memory{RSSBytes: rss, PSSBytes: pss, Sampled: ok}
	}
}

// childOutput decides what the container's stdout or stderr is. Normally a
// pipe to w, which streams the bytes on and watches for the READY line. A
// terminal, though, is handed over as it is, so that an interactive shell
// (the lab's) sees a real tty: its output is then neither scanned nor turned
// into console events, and no READY phase is recorded from it.
func childOutput(f io.Writer, w *lineWriter) io.Writer {
	if onTerminal(f) {
		return f
	}
	return w
}

func onTerminal(f io.Writer) bool {
	file, ok := f.(*os.File)
	return ok && isTerminal(file)
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// makeOverlayDirs creates the writable layer. In a user namespace its owner
// is the container's root, who must be able to write it.
func makeOverlayDirs(st *state, l *specs.Linux) error {
	var dirs []string
	for _, d := range []string{"upper", "work", "merged"} {
		p := st.dir + "/" + d
		if err := os.Mkdir(p, 0o755); err != nil {
			return fmt.Errorf("create overlay dir: %w", err)
		}
		dirs = append(dirs, p)
	}
	if hasNamespace(l, specs.UserNamespace) {
		uid, gid := hostID(l.UIDMappings), hostID(l.GIDMappings)
		if uid < 0 || gid < 0 {
			return fmt.Errorf("%w: the user namespace maps no container root (id 0)", ErrBadConfig)
		}
		return chownTree(uid, gid, dirs...)
	}
	return nil
}

func hostID(m []specs.LinuxIDMapping) int {
	for _, e := range m {
		if e.ContainerID == 0 && e.Size > 0 {
			return int(e.HostID)
		}
	}
	return -1
}

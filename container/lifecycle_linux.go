package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/container/internal/ctinit"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/owner"
)

// The OCI lifecycle: create, start, state, kill, delete, as the
// runtime-spec's "Operations" describe them and as runc's command line
// (package container/runtime) drives them. Unlike Run, which owns its
// container from clone to teardown, each operation here is a separate
// process that finds the container again from its record in the state
// directory:
//
//   - create does what Run does up to the workload's execve, with two
//     differences: the init gets no parent-death signal, and instead of
//     executing the workload it waits on exec.fifo in the state directory;
//   - start opens exec.fifo for reading, which releases the init, and
//     removes it: a container with a live init and a FIFO is "created",
//     without the FIFO "running";
//   - state reads the record and looks at the init: its PID alone is not
//     enough (PIDs are reused), so its start time is recorded too, and a
//     zombie counts as stopped;
//   - delete removes what create put on the host, from the record, as the
//     clean-up of a Run whose parent was killed does (state_linux.go).

// DefaultRoot is where containers' records live when the caller names no
// --root. It is not StateRoot: Run's clean-up removes records whose owner
// process is gone, and a created container outlives its `create`.
const DefaultRoot = "/run/twinboot/runtime"

// The runtime-spec's status values.
const (
	StatusCreating = "creating"
	StatusCreated  = "created"
	StatusRunning  = "running"
	StatusStopped  = "stopped"
)

// Errors of the lifecycle a caller can test for with errors.Is.
var (
	ErrExists     = errors.New("container ID already exists")
	ErrNotExist   = errors.New("container does not exist")
	ErrBadID      = errors.New("invalid container ID")
	ErrBadStatus  = errors.New("container is not in the right state")
	ErrHookFailed = errors.New("hook failed")
)

// ociRecord is what the lifecycle adds to a run's state record.
type ociRecord struct {
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Pid         int               `json:"pid,omitempty"`
	PidStart    uint64            `json:"pid_start,omitempty"`
	// Created is set once the init waits on the FIFO: until then the
	// container is "creating", and if its creator is gone, a wreck.
	Created   bool         `json:"created,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
	Hooks     *specs.Hooks `json:"hooks,omitempty"`
}

// CreateOptions is one `create`.
type CreateOptions struct {
	Root    string // state directory (DefaultRoot when empty)
	ID      string
	Bundle  string // OCI bundle directory (the working directory when empty)
	PidFile string // written with the init's PID once the container is created
	// Stdin, Stdout, Stderr become the container's, as they are (nil:
	// /dev/null). The init holds them, not this process.
	Stdin, Stdout, Stderr *os.File
	Init                  string // as Spec.Init
	// HookLog receives the warnings of hooks whose failure the spec says to
	// log and ignore (nil: os.Stderr).
	HookLog io.Writer
}

// Container is a container found by its ID.
type Container struct {
	st *state
	// cmd is set in the process that created the container: its parent,
	// which alone can wait for it (see Wait).
	cmd *exec.Cmd
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_+.-]+$`)

func checkID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: the ID is empty", ErrBadID)
	}
	if !idPattern.MatchString(id) || id == "." || id == ".." || len(id) > 1024 {
		return fmt.Errorf("%w: %q (letters, digits and _+.- only)", ErrBadID, id)
	}
	return nil
}

func rootOr(root string) string {
	if root == "" {
		return DefaultRoot
	}
	return root
}

// Create sets up a container from a bundle and leaves its init waiting for
// Start. Nothing is left behind when it fails: a failed create is no
// container.
func Create(o CreateOptions) (*Container, error) {
	if os.Geteuid() != 0 {
		return nil, ErrNotRoot
	}
	if err := checkID(o.ID); err != nil {
		return nil, err
	}
	bundle := o.Bundle
	if bundle == "" {
		bundle = "."
	}
	bundle, err := filepath.Abs(bundle)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", o.Bundle, err)
	}
	cfg, err := resolve(Spec{Bundle: bundle})
	if err != nil {
		return nil, err
	}
	root := rootOr(o.Root)
	st, err := newStateIn(root, o.ID)
	if errors.Is(err, fs.ErrExist) {
		// An ID is in use until deleted, except for the wreck of a
		// create that was killed: clean that up and take the ID.
		if cleaned, cerr := removeWreck(root, o.ID); cerr != nil {
			return nil, cerr
		} else if cleaned {
			st, err = newStateIn(root, o.ID)
		}
	}
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%w: %s", ErrExists, o.ID)
	}
	if err != nil {
		return nil, err
	}
	c := &Container{st: st}
	st.OCI = &ociRecord{
		Bundle:      bundle,
		Rootfs:      cfg.Rootfs,
		Annotations: cfg.OCI.Annotations,
		CreatedAt:   time.Now().UTC(),
		Hooks:       cfg.OCI.Hooks,
	}
	if err := c.create(cfg, o); err != nil {
		// The spec's "stop and destroy the container": kill whatever
		// started, remove what was put on the host.
		c.kill(unix.SIGKILL)
		if rmErr := st.remove(); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("clean up after failed create: %w", rmErr))
		}
		return nil, err
	}
	return c, nil
}

func (c *Container) create(cfg *config, o CreateOptions) error {
	st := c.st
	if err := st.save(); err != nil {
		return err
	}
	fifoPath := filepath.Join(st.dir, "exec.fifo")
	if err := unix.Mkfifo(fifoPath, 0o600); err != nil {
		return fmt.Errorf("create exec fifo: %w", err)
	}
	if l := cfg.OCI.Linux; hasNamespace(l, specs.UserNamespace) {
		// The init reopens the FIFO as the namespace's root, a host uid
		// of its own.
		if err := unix.Chown(fifoPath, hostID(l.UIDMappings), hostID(l.GIDMappings)); err != nil {
			return fmt.Errorf("chown exec fifo: %w", err)
		}
	}
	fifoFD, err := unix.Open(fifoPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	fifo := os.NewFile(uintptr(fifoFD), fifoPath)
	defer fifo.Close()

	// A root the bundle says is writable is written: engines and the
	// conformance suite look for the container's files in the bundle's
	// rootfs afterwards. (Run puts an overlay over it instead.)
	// linux.cgroupsPath, or "twinboot-<id>" under this process's cgroup.
	name := "twinboot-" + st.ID
	if p := cfg.OCI.Linux.CgroupsPath; p != "" {
		name = p
	}
	cg, err := newCgroupAt(name, cfg.OCI.Linux.Resources, st.recordCgroups)
	if err != nil {
		return err
	}
	warnIgnoredKernelMemory(o.HookLog, cg, cfg.OCI.Linux.Resources)
	ph := &phases{t0: ctinit.MonotonicNow()}
	r := &runner{
		s:        Spec{Init: o.Init},
		cfg:      cfg,
		cg:       cg,
		ph:       ph,
		st:       st,
		rootfs:   cfg.Rootfs,
		detached: true,
		fifo:     fifo,
		stdio:    [3]*os.File{o.Stdin, o.Stdout, o.Stderr},
	}
	r.onPivot = func(pid int) error {
		// The init has made its namespaces and mounts and waits: the
		// moment for prestart and createRuntime (both in the runtime's
		// namespaces, which is where this process is).
		start, err := owner.Start(pid)
		if err != nil {
			return fmt.Errorf("read the init's start time: %w", err)
		}
		st.OCI.Pid, st.OCI.PidStart = pid, start
		if err := st.save(); err != nil {
			return err
		}
		hs := st.OCI.Hooks
		if hs == nil {
			return nil
		}
		state := c.specState(StatusCreating)
		if err := runHooks("prestart", hs.Prestart, state); err != nil {
			return err
		}
		return runHooks("createRuntime", hs.CreateRuntime, state)
	}
	if err := r.start(); err != nil {
		return err
	}
	c.cmd = r.cmd
	err = r.handshake()
	r.cfgW.Close()
	r.statR.Close()
	if err != nil {
		return err
	}
	st.OCI.Created = true
	if err := st.save(); err != nil {
		return err
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, st.OCI.Pid); err != nil {
			return err
		}
	}
	return nil
}

// warnIgnoredKernelMemory says so when the kernel accepted a kernel memory
// limit and ignored it, as kernels since 5.16 do (the v1 file is kept but
// has no effect): the setting is not silently dropped by this runtime, but it
// has no effect either.
func warnIgnoredKernelMemory(w io.Writer, cg *cgroup, res *specs.LinuxResources) {
	if res == nil || res.Memory == nil || res.Memory.Kernel == nil || cg.memDir == "" {
		return
	}
	got, err := readUintFile(filepath.Join(cg.memDir, "memory.kmem.limit_in_bytes"))
	if err != nil || int64(got) == *res.Memory.Kernel {
		return
	}
	if w == nil {
		w = os.Stderr
	}
	fmt.Fprintf(w, "warning: linux.resources.memory.kernel: this kernel ignores kernel memory limits (asked %d, memory.kmem.limit_in_bytes reads %d)\n", *res.Memory.Kernel, got)
}

// writePidFile writes the file whole or not at all, as engines read it as
// soon as create returns.
func writePidFile(path string, pid int) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

// Load finds the container id under root.
func Load(root, id string) (*Container, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	st, err := readRecord(filepath.Join(rootOr(root), id))
	if err != nil {
		return nil, err
	}
	return &Container{st: st}, nil
}

func readRecord(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(dir); serr == nil {
			// The directory exists but its record does not yet: a create
			// between its mkdir and its first save, or one killed there.
			return &state{ID: filepath.Base(dir), dir: dir, OCI: &ociRecord{}}, nil
		}
		return nil, fmt.Errorf("%w: %s", ErrNotExist, filepath.Base(dir))
	}
	if err != nil {
		return nil, fmt.Errorf("read state of %s: %w", filepath.Base(dir), err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("read state of %s: %w", filepath.Base(dir), err)
	}
	if st.OCI == nil {
		return nil, fmt.Errorf("%w: %s is not a record of an OCI container", ErrNotExist, filepath.Base(dir))
	}
	st.dir = dir
	return &st, nil
}

// ID is the container's ID.
func (c *Container) ID() string { return c.st.ID }

// Pid is the container init's PID on the host (0 before it exists).
func (c *Container) Pid() int { return c.st.OCI.Pid }

// Status is the container's runtime-spec status, worked out from the record
// and from the init process itself.
func (c *Container) Status() string {
	o := c.st.OCI
	if !o.Created {
		if owner.Alive(c.st.OwnerPID, c.st.OwnerStart) || (c.st.OwnerPID == 0 && !abandoned(c.st.dir)) {
			return StatusCreating
		}
		// Its creator died mid-create: nothing runs it, nothing will.
		return StatusStopped
	}
	if !c.initAlive() {
		return StatusStopped
	}
	if _, err := os.Lstat(filepath.Join(c.st.dir, "exec.fifo")); err == nil {
		return StatusCreated
	}
	return StatusRunning
}

// initAlive: the recorded PID is still the recorded process, and not a
// zombie (a dead init whose parent has not waited for it yet).
func (c *Container) initAlive() bool {
	o := c.st.OCI
	if o.Pid <= 0 {
		return false
	}
	st, err := host.ReadProcStat(o.Pid)
	return err == nil && st.State != "Z" && st.State != "X" && st.StartTicks == o.PidStart
}

// State is the runtime-spec's state of the container.
func (c *Container) State() specs.State { return c.specState(c.Status()) }

func (c *Container) specState(status string) specs.State {
	s := specs.State{
		Version:     specs.Version,
		ID:          c.st.ID,
		Status:      specs.ContainerState(status),
		Bundle:      c.st.OCI.Bundle,
		Annotations: c.st.OCI.Annotations,
	}
	if status != StatusStopped {
		s.Pid = c.st.OCI.Pid
	}
	return s
}

// Created is when the container was created (zero if unknown).
func (c *Container) Created() time.Time { return c.st.OCI.CreatedAt }

// Rootfs is the host path of the container's root.
func (c *Container) Rootfs() string { return c.st.OCI.Rootfs }

// Start releases a created container's init into the workload, then runs
// the poststart hooks (whose failures are logged to hookLog, as the spec
// says, not returned).
func (c *Container) Start(hookLog io.Writer) error {
	if s := c.Status(); s != StatusCreated {
		return fmt.Errorf("%w: cannot start container %s: it is %s, not created", ErrBadStatus, c.st.ID, s)
	}
	fifoPath := filepath.Join(c.st.dir, "exec.fifo")
	// Non-blocking, so that an init that died cannot leave start hanging
	// in open(2); reading then waits for the init's byte.
	fd, err := unix.Open(fifoPath, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("start %s: open exec fifo: %w", c.st.ID, err)
	}
	f := os.NewFile(uintptr(fd), fifoPath)
	defer f.Close()
	if err := c.awaitInit(f); err != nil {
		return err
	}
	if err := os.Remove(fifoPath); err != nil {
		return fmt.Errorf("start %s: remove exec fifo: %w", c.st.ID, err)
	}
	if hs := c.st.OCI.Hooks; hs != nil {
		warnHooks(hookLog, "poststart", hs.Poststart, c.specState(StatusRunning))
	}
	return nil
}

// awaitInit reads the init's byte from the FIFO. Until the init has opened
// its end, a read returns EOF at once: it is retried while the init lives.
func (c *Container) awaitInit(f *os.File) error {
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, 1)
	for {
		f.SetReadDeadline(deadline)
		n, err := f.Read(buf)
		if n == 1 {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("start %s: read exec fifo: %w", c.st.ID, err)
		}
		if !c.initAlive() {
			return fmt.Errorf("%w: start %s: the container's init has exited", ErrBadStatus, c.st.ID)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("start %s: the container's init did not answer in 10 s", c.st.ID)
		}
		time.Sleep(time.Millisecond)
	}
}

// Signal sends sig to the container's init. A stopped container is an
// error, as the spec requires.
func (c *Container) Signal(sig unix.Signal) error {
	switch s := c.Status(); s {
	case StatusCreated, StatusRunning:
	default:
		return fmt.Errorf("%w: cannot kill container %s: it is %s", ErrBadStatus, c.st.ID, s)
	}
	if err := c.kill(sig); err != nil {
		return fmt.Errorf("kill container %s: %w", c.st.ID, err)
	}
	return nil
}

// kill signals the init if it is still the recorded process.
func (c *Container) kill(sig unix.Signal) error {
	if !c.initAlive() {
		return nil
	}
	return unix.Kill(c.st.OCI.Pid, sig)
}

// Delete removes a stopped container: its cgroups, mounts and record, then
// runs the poststop hooks. force first kills one that still runs (or was
// only created).
func (c *Container) Delete(force bool, hookLog io.Writer) error {
	status := c.Status()
	if status == StatusCreating && !force {
		return fmt.Errorf("%w: cannot delete container %s: it is being created", ErrBadStatus, c.st.ID)
	}
	if status != StatusStopped && !force {
		return fmt.Errorf("%w: cannot delete container %s: it is %s (stop it first, or delete --force)", ErrBadStatus, c.st.ID, status)
	}
	if status != StatusStopped || !c.st.OCI.Created {
		// (An interrupted create may have left its init waiting.) The
		// cgroup clean-up below kills anything left in it too.
		c.kill(unix.SIGKILL)
	}
	if c.cmd != nil && c.cmd.Process != nil {
		// This process created the container: reap its init.
		c.cmd.Wait()
	}
	// Claim the record first, so that two deletes never work on one.
	claimed := filepath.Join(filepath.Dir(c.st.dir), ".deleting-"+c.st.ID+"-"+strconv.Itoa(os.Getpid()))
	if err := os.Rename(c.st.dir, claimed); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s", ErrNotExist, c.st.ID)
		}
		return fmt.Errorf("delete %s: %w", c.st.ID, err)
	}
	state := c.specState(StatusStopped)
	c.st.dir = claimed
	err := c.st.remove()
	if hs := c.st.OCI.Hooks; hs != nil && c.st.OCI.Created {
		warnHooks(hookLog, "poststop", hs.Poststop, state)
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", c.st.ID, err)
	}
	return nil
}

// Wait waits for the container's init to exit and returns its wait status.
// Only the process that created the container can (its parent); others get
// an error.
func (c *Container) Wait() (syscall.WaitStatus, error) {
	if c.cmd == nil {
		return 0, errors.New("wait: only the process that created the container can wait for it")
	}
	err := c.cmd.Wait()
	if c.cmd.ProcessState == nil {
		return 0, fmt.Errorf("wait for container %s: %w", c.st.ID, err)
	}
	return c.cmd.ProcessState.Sys().(syscall.WaitStatus), nil
}

// List returns every container under root, sorted by ID.
func List(root string) ([]*Container, error) {
	entries, err := os.ReadDir(rootOr(root))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rootOr(root), err)
	}
	var out []*Container
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		st, err := readRecord(filepath.Join(rootOr(root), e.Name()))
		if err != nil {
			continue
		}
		out = append(out, &Container{st: st})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].st.ID < out[j].st.ID })
	return out, nil
}

// removeWreck cleans up the record of id if it is the wreck of a create
// whose process was killed, and reports whether it did.
func removeWreck(root, id string) (bool, error) {
	c, err := Load(root, id)
	if err != nil {
		return false, nil
	}
	if c.st.OCI.Created || c.Status() != StatusStopped {
		return false, nil
	}
	if err := c.Delete(true, io.Discard); err != nil {
		return false, fmt.Errorf("clean up the remains of an interrupted create of %s: %w", id, err)
	}
	return true, nil
}

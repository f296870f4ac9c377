package runtime

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/internal/testutil"
)

// The test binary doubles as the runtime executable (for the tests that need
// a `create` process of its own, to exit or to be killed) and as the
// container init (package container's initialiser).
const runtimeEnv = "TWINBOOT_TEST_RUNTIME"

func TestMain(m *testing.M) {
	container.MaybeInit()
	if os.Getenv(runtimeEnv) == "1" {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	// The init as the command line has it: twinboot-init, static. (This
	// test binary may be linked dynamically, and exec starts the init
	// inside the container's root, which has no host libc.)
	dir, err := os.MkdirTemp("", "twinboot-init-")
	if err != nil {
		panic(err)
	}
	os.Chmod(dir, 0o755)
	initPath := filepath.Join(dir, container.InitBinaryName)
	build := exec.Command("go", "build", "-o", initPath, "../cmd/twinboot-init")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build twinboot-init: %v: %s\n", err, out)
		os.Exit(1)
	}
	os.Setenv(container.InitEnv, initPath)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// rt is one runtime state directory for a test, cleaned up with everything
// in it (containers are force-deleted, which removes their cgroups).
type rt struct {
	t    *testing.T
	root string
	dir  string // scratch: bundles, stdio files
}

func newRT(t *testing.T) *rt {
	t.Helper()
	testutil.Root(t)
	r := &rt{t: t, root: filepath.Join(t.TempDir(), "state"), dir: t.TempDir()}
	t.Cleanup(func() {
		all, _ := container.List(r.root)
		for _, c := range all {
			if err := c.Delete(true, os.Stderr); err != nil {
				t.Errorf("cleanup: delete %s: %v", c.ID(), err)
			}
		}
	})
	return r
}

// bundle writes a bundle around the lab rootfs (read-only: tests share it)
// running args, changed by edit.
func (r *rt) bundle(args []string, edit func(s *specs.Spec)) string {
	r.t.Helper()
	s := container.DefaultSpec(testutil.Guest(r.t).Rootfs, args)
	if edit != nil {
		edit(s)
	}
	dir, err := os.MkdirTemp(r.dir, "bundle")
	if err != nil {
		r.t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		r.t.Fatal(err)
	}
	return dir
}

// result is one command line's outcome.
type result struct {
	code           int
	stdout, stderr string
}

// run calls Main in this process with files for stdio (create passes them
// to the container, which then writes into them too).
func (r *rt) run(args ...string) result {
	r.t.Helper()
	out, _ := os.CreateTemp(r.dir, "stdout")
	errf, _ := os.CreateTemp(r.dir, "stderr")
	defer out.Close()
	defer errf.Close()
	code := Main(append([]string{"--root", r.root}, args...), nil, out, errf)
	o, _ := os.ReadFile(out.Name())
	e, _ := os.ReadFile(errf.Name())
	return result{code: code, stdout: string(o), stderr: string(e)}
}

func (r *rt) ok(args ...string) result {
	r.t.Helper()
	res := r.run(args...)
	if res.code != 0 {
		r.t.Fatalf("%s: exit %d: %s", strings.Join(args, " "), res.code, res.stderr)
	}
	return res
}

func (r *rt) state(id string) specs.State {
	r.t.Helper()
	res := r.ok("state", id)
	var s specs.State
	if err := json.Unmarshal([]byte(res.stdout), &s); err != nil {
		r.t.Fatalf("state %s: %v: %q", id, err, res.stdout)
	}
	return s
}

// waitStatus polls state until it says want.
func (r *rt) waitStatus(id, want string) specs.State {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := r.state(id)
		if string(s.Status) == want {
			return s
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: status %s, want %s", id, s.Status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sub runs the runtime as a separate process (this test binary).
func (r *rt) sub(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{"--root", r.root}, args...)...)
	cmd.Env = append(os.Environ(), runtimeEnv+"=1")
	return cmd
}

// A script that exits 0 on SIGTERM (busybox sleep as PID 1 would ignore it:
// a namespace's init gets only the signals it handles).
var termScript = []string{"/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.05; done"}

func TestLifecycle(t *testing.T) {
	r := newRT(t)
	b := r.bundle(termScript, func(s *specs.Spec) { s.Annotations = map[string]string{"org.example": "yes"} })
	r.ok("create", "--bundle", b, "--pid-file", filepath.Join(r.dir, "pid"), "life")

	s := r.state("life")
	if s.Status != "created" || s.Pid <= 0 || s.ID != "life" || s.Bundle != b || s.Annotations["org.example"] != "yes" {
		t.Fatalf("after create: %+v", s)
	}
	pidFile, err := os.ReadFile(filepath.Join(r.dir, "pid"))
	if err != nil || string(pidFile) != strconv.Itoa(s.Pid) {
		t.Fatalf("pid file %q (%v), state pid %d", pidFile, err, s.Pid)
	}
	if got := r.ok("list", "--format", "json").stdout; !strings.Contains(got, `"id":"life"`) || !strings.Contains(got, `"status":"created"`) {
		t.Fatalf("list: %s", got)
	}

	r.ok("start", "life")
	if s := r.state("life"); s.Status != "running" {
		t.Fatalf("after start: %s", s.Status)
	}
	if res := r.run("start", "life"); res.code != 1 || !strings.Contains(res.stderr, "running, not created") {
		t.Fatalf("second start: %+v", res)
	}
	if res := r.run("delete", "life"); res.code != 1 || !strings.Contains(res.stderr, "--force") {
		t.Fatalf("delete of a running container: %+v", res)
	}

	// TERM, which the script handles once its trap is set: until then
	// the namespace's init ignores it (as in every runtime).
	waitHandler(t, r.state("life").Pid, syscall.SIGTERM)
	r.ok("kill", "life")
	s = r.waitStatus("life", "stopped")
	if s.Pid != 0 {
		t.Errorf("stopped container has pid %d", s.Pid)
	}
	if res := r.run("kill", "life", "KILL"); res.code != 1 || !strings.Contains(res.stderr, "stopped") {
		t.Fatalf("kill of a stopped container: %+v", res)
	}
	cgroups := recordedCgroups(t, r.root, "life")
	r.ok("delete", "life")
	if res := r.run("state", "life"); res.code != 1 || !strings.Contains(res.stderr, "does not exist") {
		t.Fatalf("state after delete: %+v", res)
	}
	for _, d := range cgroups {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup %s left after delete", d)
		}
	}
}

// waitHandler waits until process pid has a handler for sig.
func waitHandler(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "SigCgt:\t"); ok {
				mask, _ := strconv.ParseUint(v, 16, 64)
				name, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
				if mask&(1<<(sig-1)) != 0 && strings.TrimSpace(string(name)) == "sh" {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d never handled %v", pid, sig)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// recordedCgroups reads the cgroup directories from a container's record.
func recordedCgroups(t *testing.T, root, id string) []string {
	b, err := os.ReadFile(filepath.Join(root, id, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ Cgroups []string }
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Cgroups) == 0 {
		t.Fatal("no cgroups recorded")
	}
	return rec.Cgroups
}

// The container outlives the process that created it, which an engine's
// create always is.
func TestStateAfterCreatorExits(t *testing.T) {
	r := newRT(t)
	b := r.bundle([]string{"/bin/sleep", "60"}, nil)
	cmd := r.sub("create", "--bundle", b, "orphan")
	// Files, not pipes: the container keeps its stdio open, and a pipe
	// would keep CombinedOutput waiting for the container's end.
	out, _ := os.CreateTemp(r.dir, "out")
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(out.Name())
		t.Fatalf("create: %v: %s", err, b)
	}
	s := r.state("orphan")
	if s.Status != "created" {
		t.Fatalf("after the creator exited: %s", s.Status)
	}
	if ppid := parentOf(t, s.Pid); ppid == cmd.Process.Pid {
		t.Fatalf("init %d still has the creator %d as its parent", s.Pid, ppid)
	}
	r.ok("start", "orphan")
	r.waitStatus("orphan", "running")
	r.ok("delete", "--force", "orphan")
	if res := r.run("state", "orphan"); res.code == 0 {
		t.Fatal("state after delete --force succeeded")
	}
}

// alive: pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+1:])
	return f[0] != "Z"
}

func parentOf(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+1:])
	n, _ := strconv.Atoi(f[1])
	return n
}

func TestKillCreated(t *testing.T) {
	r := newRT(t)
	r.ok("create", "--bundle", r.bundle([]string{"/bin/sleep", "60"}, nil), "created-only")
	pid := r.state("created-only").Pid
	r.ok("kill", "created-only", "9")
	r.waitStatus("created-only", "stopped")
	if res := r.run("start", "created-only"); res.code != 1 {
		t.Fatalf("start of a killed container: %+v", res)
	}
	r.ok("delete", "created-only")
	if alive(pid) {
		t.Errorf("init %d still alive after kill and delete", pid)
	}
}

func TestDeleteForceRunning(t *testing.T) {
	r := newRT(t)
	r.ok("run", "--detach", "--bundle", r.bundle([]string{"/bin/sleep", "60"}, nil), "forced")
	s := r.waitStatus("forced", "running")
	cgroups := recordedCgroups(t, r.root, "forced")
	r.ok("delete", "--force", "forced")
	for _, d := range cgroups {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup %s left after delete --force", d)
		}
	}
	if alive(s.Pid) {
		t.Errorf("init %d alive after delete --force", s.Pid)
	}
}

func TestSameIDTwice(t *testing.T) {
	r := newRT(t)
	b := r.bundle([]string{"/bin/sleep", "60"}, nil)
	r.ok("create", "--bundle", b, "twin")
	res := r.run("create", "--bundle", b, "twin")
	if res.code != 1 || !strings.Contains(res.stderr, "already exists") || strings.Count(res.stderr, "\n") != 1 {
		t.Fatalf("second create of one ID: %+v", res)
	}
	if s := r.state("twin"); s.Status != "created" {
		t.Fatalf("the first container was disturbed: %s", s.Status)
	}
}

func TestCommandLineErrors(t *testing.T) {
	r := newRT(t)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"state", "nope"}, 1, "container does not exist: nope"},
		{[]string{"start", "nope"}, 1, "does not exist"},
		{[]string{"kill", "nope", "KILL"}, 1, "does not exist"},
		{[]string{"delete", "nope"}, 1, "does not exist"},
		{[]string{"start"}, 2, "missing container ID"},
		{[]string{"frobnicate", "x"}, 2, `unknown command "frobnicate"`},
		{[]string{"create", "--bundle"}, 2, "needs a value"},
		{[]string{"kill", "nope", "SIGNOPE"}, 1, ""}, // the ID is looked up first
		{[]string{"create", "../escape"}, 1, "invalid container ID"},
		{[]string{"--log-format", "xml", "list"}, 2, "want text or json"},
	} {
		res := r.run(c.args...)
		if res.code != c.code || !strings.Contains(res.stderr, c.want) || strings.Count(res.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q on one line", c.args, res.code, res.stderr, c.code, c.want)
		}
	}
	// Flags engines pass that are accepted without effect.
	r.ok("--systemd-cgroup", "--criu", "/usr/sbin/criu", "--rootless=false", "list")
	// --log in JSON: what containerd reads after a failure.
	log := filepath.Join(r.dir, "log.json")
	r.run("--log", log, "--log-format", "json", "state", "nope")
	b, _ := os.ReadFile(log)
	var entry map[string]string
	if err := json.Unmarshal(b, &entry); err != nil || entry["level"] != "error" || !strings.Contains(entry["msg"], "does not exist") {
		t.Errorf("log entry %q (%v)", b, err)
	}
}

// A create killed midway leaves a record, and its ID must not be wedged:
// state calls it stopped, and a new create of the ID (or delete) cleans up.
func TestCreateKilledMidway(t *testing.T) {
	r := newRT(t)
	marker := filepath.Join(r.dir, "in-hook")
	// A prestart hook that signals it runs and then hangs: create is
	// stuck there, with the init made and the cgroup in place.
	b := r.bundle([]string{"/bin/sleep", "60"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "touch " + marker + "; exec sleep 3"}}}}
	})
	cmd := r.sub("create", "--bundle", b, "wreck")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the prestart hook never ran")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s := r.state("wreck")
	if s.Status != "creating" || s.Pid <= 0 {
		t.Fatalf("during create: %+v", s)
	}
	oldInit := s.Pid
	cmd.Process.Kill()
	cmd.Wait()

	if s := r.state("wreck"); s.Status != "stopped" {
		t.Fatalf("after the creator was killed: %s", s.Status)
	}
	// The ID is free again: the wreck is cleaned up by the next create.
	r.ok("create", "--bundle", r.bundle([]string{"/bin/sleep", "60"}, nil), "wreck")
	if s := r.state("wreck"); s.Status != "created" {
		t.Fatalf("re-created: %s", s.Status)
	}
	// The wreck's init was killed, not left waiting (its parent died with
	// create, so nobody but PID 1 reaps it: give that a moment).
	deadline = time.Now().Add(5 * time.Second)
	for alive(oldInit) {
		if time.Now().After(deadline) {
			t.Fatalf("the wreck's init %d still runs", oldInit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.ok("delete", "--force", "wreck")
	entries, _ := os.ReadDir(r.root)
	if len(entries) != 0 {
		t.Errorf("state directory not empty: %v", entries)
	}
}

func TestHooks(t *testing.T) {
	r := newRT(t)
	out := filepath.Join(r.dir, "hooks.log")
	hook := func(name string) specs.Hook {
		// Each hook logs its name and the state it got on stdin.
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "printf '%s ' " + name + " >> " + out + "; cat >> " + out + "; echo >> " + out}}
	}
	b := r.bundle([]string{"/bin/sleep", "60"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{
			Prestart:      []specs.Hook{hook("prestart")},
			CreateRuntime: []specs.Hook{hook("createRuntime")},
			Poststart:     []specs.Hook{hook("poststart")},
			Poststop:      []specs.Hook{hook("poststop1"), hook("poststop2")},
		}
	})
	r.ok("create", "--bundle", b, "hooked")
	r.ok("start", "hooked")
	r.ok("delete", "--force", "hooked")
	log, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	want := []string{"prestart creating", "createRuntime creating", "poststart running", "poststop1 stopped", "poststop2 stopped"}
	if len(lines) != len(want) {
		t.Fatalf("hooks ran:\n%s", log)
	}
	for i, l := range lines {
		name, js, _ := strings.Cut(l, " ")
		var s specs.State
		if err := json.Unmarshal([]byte(js), &s); err != nil {
			t.Fatalf("hook %s got %q on stdin: %v", name, js, err)
		}
		if got := name + " " + string(s.Status); got != want[i] || s.ID != "hooked" || s.Bundle != b {
			t.Errorf("hook %d: %s, state %+v; want %s", i, got, s, want[i])
		}
		if s.Status != "stopped" && s.Pid <= 0 {
			t.Errorf("hook %s: no pid in %s", name, js)
		}
	}

	// A failing prestart hook fails the create and leaves nothing.
	b = r.bundle([]string{"/bin/sleep", "60"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/false"}}}
	})
	if res := r.run("create", "--bundle", b, "failing"); res.code != 1 || !strings.Contains(res.stderr, "prestart hook 0") {
		t.Fatalf("create with a failing hook: %+v", res)
	}
	if res := r.run("state", "failing"); res.code != 1 {
		t.Fatalf("a failed create left a container: %+v", res)
	}
	// A hook that hangs is killed at its timeout.
	one := 1
	b = r.bundle([]string{"/bin/sleep", "60"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sleep", Args: []string{"sleep", "30"}, Timeout: &one}}}
	})
	start := time.Now()
	if res := r.run("create", "--bundle", b, "slow"); res.code != 1 || !strings.Contains(res.stderr, "timed out") {
		t.Fatalf("create with a hanging hook: %+v", res)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a 1 s hook timeout took %v", d)
	}
}

func TestExec(t *testing.T) {
	r := newRT(t)
	r.ok("run", "--detach", "--bundle", r.bundle([]string{"/bin/sleep", "60"}, func(s *specs.Spec) { s.Hostname = "inside" }), "ex")
	res := r.ok("exec", "ex", "--", "/bin/sh", "-c", "hostname; cat /proc/self/cgroup | head -1; echo $$; grep NoNewPrivs /proc/self/status")
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if len(lines) != 4 || lines[0] != "inside" || !strings.HasPrefix(lines[3], "NoNewPrivs:\t1") {
		t.Fatalf("exec output: %q", res.stdout)
	}
	// In the container's PID namespace: a small PID, not the host's.
	if n, err := strconv.Atoi(lines[2]); err != nil || n > 100 {
		t.Errorf("exec'd shell has PID %q: not in the container's PID namespace", lines[2])
	}
	if res := r.run("exec", "ex", "/bin/sh", "-c", "exit 7"); res.code != 7 {
		t.Errorf("exec exit status %d, want 7 (%s)", res.code, res.stderr)
	}
	r.ok("kill", "ex", "KILL")
	r.waitStatus("ex", "stopped")
	if res := r.run("exec", "ex", "/bin/true"); res.code != 1 || !strings.Contains(res.stderr, "not running") {
		t.Errorf("exec into a stopped container: %+v", res)
	}

	// A user namespace cannot be joined from Go: a clear refusal.
	r.ok("run", "--detach", "--bundle", r.bundle([]string{"/bin/sleep", "60"}, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	}), "userns")
	if res := r.run("exec", "userns", "/bin/true"); res.code != 1 || !strings.Contains(res.stderr, "user namespace is not supported") {
		t.Errorf("exec into a user namespace: %+v", res)
	}
}

package container

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/twinboot/twinboot/internal/testutil"
)

// 200 runs in a row, then one run whose parent is SIGKILLed: afterwards the
// mount table, the cgroup directories, the state directories and this
// process's children are what they were before.
func TestNoLeaks(t *testing.T) {
	rootfs := labRootfs(t)
	if testing.Short() {
		t.Skip("200 containers: not in -short")
	}
	before := takeSnapshot(t)
	for i := 0; i < 200; i++ {
		res, err := Run(context.Background(), Spec{Rootfs: rootfs, Timeout: 30 * time.Second})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("run %d: %v (exit %d)", i, err, res.ExitCode)
		}
	}
	assertNoLeak(t, before, takeSnapshot(t))

	// The parent: this test binary again, told by the environment to run
	// one long container and wait to be killed.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	parent := exec.Command(exe, "-test.run=^$")
	parent.Env = append(os.Environ(), helperEnv+"="+rootfs)
	parent.Stderr = os.Stderr
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { parent.Process.Kill(); parent.Wait() })
	stateDir := waitForState(t, parent.Process.Pid)
	cgroups := readState(t, stateDir).Cgroups
	if len(pidsIn(cgroups)) == 0 {
		t.Fatal("the container's cgroups hold no process while it runs")
	}
	if err := parent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	parent.Wait()
	// Pdeathsig takes the container's init down with its parent, and the
	// PID namespace takes the rest.
	deadline := time.Now().Add(5 * time.Second)
	for len(pidsIn(cgroups)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("container processes outlived their SIGKILLed parent: %v", pidsIn(cgroups))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// What remains (state dir, empty cgroups) is removed by the next start.
	if _, err := os.Stat(stateDir); err != nil {
		t.Logf("state dir already gone: %v", err)
	}
	st := readState(t, stateDir)
	removed, err := CleanupStaleRuns()
	if err != nil {
		t.Fatalf("CleanupStaleRuns: %v", err)
	}
	if !slices.Contains(removed, st.ID) {
		t.Errorf("CleanupStaleRuns removed %v, not the killed run %s", removed, st.ID)
	}
	assertNoLeak(t, before, takeSnapshot(t))
}

const helperEnv = "TWINBOOT_TEST_LEAK_PARENT"

// leakParent is the helper process of TestNoLeaks: it runs a container that
// sleeps and is killed before Run returns.
func leakParent() {
	rootfs := os.Getenv(helperEnv)
	if rootfs == "" {
		return
	}
	Run(context.Background(), Spec{Rootfs: rootfs, Args: []string{"/bin/sleep", "60"}, Timeout: time.Minute})
	os.Exit(0)
}

func waitForState(t *testing.T, owner int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(StateRoot)
		for _, e := range entries {
			dir := filepath.Join(StateRoot, e.Name())
			st, ok := tryReadState(dir)
			if ok && st.OwnerPID == owner && len(pidsIn(st.Cgroups)) > 0 {
				return dir
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no running container of process %d appeared", owner)
	return ""
}

func readState(t *testing.T, dir string) state {
	st, ok := tryReadState(dir)
	if !ok {
		t.Fatalf("no state in %s", dir)
	}
	return st
}

func tryReadState(dir string) (state, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return state{}, false
	}
	var st state
	if jsonUnmarshal(b, &st) != nil {
		return state{}, false
	}
	return st, true
}

func pidsIn(cgroups []string) []string {
	var out []string
	for _, c := range cgroups {
		for _, p := range readPids(filepath.Join(c, "cgroup.procs")) {
			out = append(out, strconv.Itoa(p))
		}
	}
	return out
}

// A state directory that never got its record (its run died between mkdir
// and the first write) is removed once it is old; a fresh one is left to
// the run that is writing it.
func TestCleanupAbandonedStateDir(t *testing.T) {
	testutil.Root(t)
	if err := os.MkdirAll(StateRoot, 0o711); err != nil {
		t.Fatal(err)
	}
	fresh, old := filepath.Join(StateRoot, "test-fresh-"+newID()), filepath.Join(StateRoot, "test-old-"+newID())
	for _, d := range []string{fresh, old} {
		if err := os.Mkdir(d, 0o711); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
	}
	past := time.Now().Add(-2 * time.Minute)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	if err := CleanupStale(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh state dir removed: %v", err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("abandoned state dir still there: %v", err)
	}
}

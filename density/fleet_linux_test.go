package density

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/testutil"
	"github.com/twinboot/twinboot/nested/nestedtest"
)

// envParent makes the test binary a density run that waits to be killed
// (value: "VMs,containers"), for the SIGKILL test.
const envParent = "TWINBOOT_TEST_DENSITY_PARENT"

func TestMain(m *testing.M) {
	if v := os.Getenv(envParent); v != "" {
		var vms, cts int
		fmt.Sscanf(v, "%d,%d", &vms, &cts)
		a, err := guest.Load(guest.BuildDir())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		Run(context.Background(), Options{Guest: a, VMs: vms, Containers: cts, Window: MaxWindow}, nil)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// needContainers skips (or fails under make test) without root or a built
// rootfs.
func needContainers(t *testing.T) guest.Artifacts { return needContainersB(t) }

func needContainersB(t testing.TB) guest.Artifacts {
	t.Helper()
	testutil.Root(t)
	return testutil.Guest(t)
}

// census counts, at one moment, this process's children and the cgroups
// that hold one of them: what "N instances run at once" means, read from
// the process table and the cgroup tree rather than from the engine.
type census struct{ children, cgroups int }

func takeCensus(t *testing.T) census {
	t.Helper()
	var c census
	mine := map[int]bool{}
	for _, p := range testutil.Processes() {
		if p.PPID == os.Getpid() && p.State != "Z" {
			c.children++
			mine[p.PID] = true
		}
	}
	for _, dir := range ownCgroupChildren(t) {
		for _, pid := range readPids(filepath.Join(dir, "cgroup.procs")) {
			if mine[pid] {
				c.cgroups++
				break
			}
		}
	}
	return c
}

// ownCgroupChildren lists the twinboot-* cgroups beside which this
// process's containers are made: under its own memory cgroup (v1, hybrid)
// or its own cgroup (v2).
func ownCgroupChildren(t *testing.T) []string {
	t.Helper()
	parent := ownMemoryCgroup(t)
	matches, _ := filepath.Glob(filepath.Join(parent, "twinboot-*"))
	return matches
}

func ownMemoryCgroup(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if host.Cgroup().Version == "v2" && f[0] == "0" {
			return filepath.Join("/sys/fs/cgroup", f[2])
		}
		for _, c := range strings.Split(f[1], ",") {
			if c == "memory" {
				return filepath.Join("/sys/fs/cgroup/memory", f[2])
			}
		}
	}
	t.Fatal("no memory cgroup in /proc/self/cgroup")
	return ""
}

func readPids(path string) []int {
	b, _ := os.ReadFile(path)
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// fleetCensus records a census each time a kind's fleet is all READY.
type fleetCensus struct {
	t    *testing.T
	mu   sync.Mutex
	full map[string]census // "step/kind" → census
	plan []Step
}

func (f *fleetCensus) sink(ev event.Event) {
	if r, ok := ev.(InstanceReady); ok && r.Ready == r.Of {
		c := takeCensus(f.t)
		f.mu.Lock()
		f.full[fmt.Sprintf("%d/%s", r.Step, r.Side)] = c
		f.mu.Unlock()
	}
}

// check: when a step's last kind was all READY, every instance of the step
// was a live child of this process at the same moment, and every container
// was in a cgroup of its own.
func (f *fleetCensus) check(t *testing.T) {
	t.Helper()
	for i, s := range f.plan {
		last := event.VM
		if s.VMs == 0 {
			last = event.Container
		}
		c, ok := f.full[fmt.Sprintf("%d/%s", i+1, last)]
		if !ok {
			t.Errorf("step %d: its fleet was never all READY", i+1)
			continue
		}
		if c.children != s.VMs+s.Containers || c.cgroups != s.Containers {
			t.Errorf("step %d (%d VMs, %d containers): at the last READY, %d children ran and %d cgroups held one",
				i+1, s.VMs, s.Containers, c.children, c.cgroups)
		}
	}
}

// assertGone: no child of this process remains, and no container of res
// left a cgroup or a state directory.
func assertGone(t *testing.T, res Results) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := takeCensus(t)
		if c.children == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d children left after the run", c.children)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	parent := ownMemoryCgroup(t)
	for _, s := range res.Steps {
		for _, f := range []*Fleet{s.Container, s.VM} {
			if f == nil {
				continue
			}
			for _, in := range f.Instances {
				if in.ContainerID != "" {
					for _, p := range []string{filepath.Join(parent, "twinboot-"+in.ContainerID), filepath.Join(container.StateRoot, in.ContainerID)} {
						if _, err := os.Stat(p); err == nil {
							t.Errorf("left behind: %s", p)
						}
					}
				}
				if in.VMMPID != 0 {
					if st, err := host.ReadProcStat(in.VMMPID); err == nil && st.PPID == os.Getpid() {
						t.Errorf("the VMM process %d is still there", in.VMMPID)
					}
				}
			}
		}
	}
}

// checkFleets: every fleet came up, and every figure the table shows was
// measured.
func checkFleets(t *testing.T, res Results) {
	t.Helper()
	for _, s := range res.Steps {
		if s.MemAvailableBefore == 0 || s.MemAvailableDuring == 0 {
			t.Errorf("step %d: MemAvailable not read: %+v", s.Index, s)
		}
		for _, f := range []*Fleet{s.Container, s.VM} {
			if f == nil {
				continue
			}
			if f.Ready != f.Asked || f.Failed != 0 {
				t.Errorf("step %d: %d of %d READY, %d failed: %+v", s.Index, f.Ready, f.Asked, f.Failed, f.Instances)
			}
			if f.FirstReadyNS <= 0 || f.LastReadyNS < f.FirstReadyNS || f.MemoryBytes == 0 || f.PerInstanceBytes == 0 {
				t.Errorf("step %d: figures missing: %+v", s.Index, f)
			}
		}
	}
}

// runAtOnce runs opt and checks that each step's fleet ran at once and
// measured every figure.
func runAtOnce(t *testing.T, opt Options) Results {
	t.Helper()
	fc := &fleetCensus{t: t, full: map[string]census{}, plan: opt.Plan()}
	res, err := Run(context.Background(), opt, fc.sink)
	if err != nil {
		t.Fatal(err)
	}
	fc.check(t)
	checkFleets(t, res)
	return res
}

// Containers natively: each step's fleet really runs at once (the process
// table and the cgroups say so at its last READY), every figure is
// measured, and nothing is left.
func TestContainerFleetRunsAtOnce(t *testing.T) {
	a := needContainers(t)
	res := runAtOnce(t, Options{Guest: a, Containers: 4, Steps: []int{1, 2, 4}, Window: 500 * time.Millisecond})
	if res.Fit[event.Container] == nil || len(res.Goals) != 3 {
		t.Errorf("no fit or goals: %+v %+v", res.Fit, res.Goals)
	}
	assertGone(t, res)
}

// A container that cannot start (its rootfs has no probe) is reported,
// and the others are still measured.
func TestFailingContainerIsReported(t *testing.T) {
	a := needContainers(t)
	empty := t.TempDir()
	opt := Options{Guest: a, Containers: 3, Window: 300 * time.Millisecond}
	opt.override = func(k Kind, i int, _ *hypervisor.Config, ct *container.Spec) {
		if i == 1 {
			ct.Rootfs = empty
		}
	}
	res, err := Run(context.Background(), opt, nil)
	if !errors.Is(err, ErrInstanceFailed) {
		t.Fatalf("Run = %v, want ErrInstanceFailed", err)
	}
	f := res.Steps[0].Container
	if f.Ready != 2 || f.Failed != 1 || f.Instances[1].Error == "" || f.MemoryBytes == 0 {
		t.Errorf("fleet: %+v", f)
	}
	if !strings.Contains(f.Instances[1].Error, "not found") {
		t.Errorf("instance 1's error: %q", f.Instances[1].Error)
	}
	assertGone(t, res)
}

// Ctrl-C in the middle of a start: every instance is stopped and removed
// before Run returns.
func TestCancelMidStartLeavesNothing(t *testing.T) {
	a := needContainers(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := func(ev event.Event) {
		if r, ok := ev.(InstanceReady); ok && r.Ready == 2 {
			cancel()
		}
	}
	res, err := Run(ctx, Options{Guest: a, Containers: 8, Window: time.Minute}, sink)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if len(res.Steps) != 1 || len(res.Steps[0].Container.Instances) != 8 {
		t.Fatalf("results: %+v", res.Steps)
	}
	assertGone(t, res)
}

// Stopped during its window (the lab's x): nothing is left, and no
// instance that was up is reported as failed.
func TestStopDuringWindowIsNoFailure(t *testing.T) {
	a := needContainers(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := func(ev event.Event) {
		if l, ok := ev.(event.Log); ok && strings.Contains(l.Msg, "idle for") {
			go func() { time.Sleep(200 * time.Millisecond); cancel() }()
		}
	}
	res, err := Run(ctx, Options{Guest: a, Containers: 4, Window: time.Minute}, sink)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if f := res.Steps[0].Container; f.Ready != 4 || f.Failed != 0 || f.MemoryBytes != 0 || f.IdleCPUNS != 0 {
		t.Errorf("stopped in its window (READY, no failure, nothing half-measured): %+v", f)
	}
	assertGone(t, res)
}

// kill -9 of the process running a fleet while it starts: no process
// outlives it (Pdeathsig), and what its containers left on the host
// (state, cgroups) is removed by the next start (CleanupStaleRuns).
func testSIGKILLMidStart(t *testing.T, vms, containers int) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	parent := exec.Command(exe, "-test.run=^$")
	parent.Env = append(os.Environ(), fmt.Sprintf("%s=%d,%d", envParent, vms, containers))
	parent.Stderr = os.Stderr
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { parent.Process.Kill(); parent.Wait() })
	ppid := parent.Process.Pid
	// Mid-start: as soon as it has started a few instances, not all.
	var started int
	for deadline := time.Now().Add(2 * time.Minute); started < 2; time.Sleep(5 * time.Millisecond) {
		started = 0
		for _, p := range testutil.Processes() {
			if p.PPID == ppid {
				started++
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the fleet did not start within 2 minutes")
		}
	}
	parent.Process.Signal(syscall.SIGKILL)
	parent.Wait()
	// Its children were reparented to this process (subreaper); Pdeathsig
	// kills them; reap them here.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var ws unix.WaitStatus
		for {
			pid, _ := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if pid <= 0 {
				break
			}
		}
		left := 0
		for _, p := range testutil.Processes() {
			if p.PPID == ppid || p.PPID == os.Getpid() {
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d processes outlived their SIGKILLed parent by 30 s", left)
		}
	}
	// What its containers recorded: state directories owned by it.
	type record struct {
		ID       string   `json:"id"`
		OwnerPID int      `json:"owner_pid"`
		Cgroups  []string `json:"cgroups"`
	}
	var left []record
	dirs, _ := os.ReadDir(container.StateRoot)
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(container.StateRoot, d.Name(), "state.json"))
		var r record
		if err == nil && json.Unmarshal(b, &r) == nil && r.OwnerPID == ppid {
			left = append(left, r)
		}
	}
	if containers > 0 && len(left) == 0 {
		// Each container records its state before its init is cloned,
		// and two had started: their records must be there.
		t.Error("the killed run's containers left no state record to clean up")
	}
	if _, err := container.CleanupStaleRuns(); err != nil {
		t.Fatalf("CleanupStaleRuns: %v", err)
	}
	for _, r := range left {
		for _, p := range append([]string{filepath.Join(container.StateRoot, r.ID)}, r.Cgroups...) {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("left behind after the next start's cleanup: %s", p)
			}
		}
	}
}

func TestSIGKILLMidStartContainers(t *testing.T) {
	needContainers(t)
	testSIGKILLMidStart(t, 0, 8)
}

// The VM side, inside nested mode's lab machine where this host has no
// hardware KVM: two steps of VMs and containers run at once, then the same
// SIGKILL in the middle of a start.
func TestVMFleetInL1(t *testing.T) {
	if nestedtest.Redirect(t) {
		return
	}
	a := needContainers(t)
	if _, err := os.Stat(hypervisor.DefaultDevice); err != nil {
		testutil.Missing(t, "%v", err)
	}
	t.Run("at once", func(t *testing.T) {
		// In L1 the clock runs ahead under load: generous bounds.
		res := runAtOnce(t, Options{Guest: a, VMs: 2, Containers: 2, Steps: []int{1, 2}, Window: time.Second, Timeout: 10 * time.Minute, Emulated: true})
		for _, s := range res.Steps {
			if s.VM.TouchedBytes == 0 {
				t.Errorf("step %d: the VMMs reported no touched guest RAM", s.Index)
			}
		}
		if f := res.Fit[event.VM]; f == nil || f.TouchedPerInstanceBytes == 0 {
			t.Errorf("VM fit: %+v", f)
		}
		assertGone(t, res)
	})
	t.Run("failing VM", func(t *testing.T) {
		opt := Options{Guest: a, VMs: 2, Window: 500 * time.Millisecond, Timeout: 10 * time.Minute, Emulated: true}
		opt.override = func(k Kind, i int, vm *hypervisor.Config, _ *container.Spec) {
			if i == 0 {
				vm.Kernel = filepath.Join(t.TempDir(), "no-such-kernel")
			}
		}
		res, err := Run(context.Background(), opt, nil)
		if !errors.Is(err, ErrInstanceFailed) {
			t.Fatalf("Run = %v, want ErrInstanceFailed", err)
		}
		if f := res.Steps[0].VM; f.Ready != 1 || f.Failed != 1 || f.MemoryBytes == 0 {
			t.Errorf("fleet: %+v", f)
		}
		assertGone(t, res)
	})
	t.Run("ksm", func(t *testing.T) {
		// Only in L1, whose kernel is ours alone: ksmd's settings are
		// global to a kernel.
		before := map[string]string{}
		for _, n := range []string{"run", "pages_to_scan", "sleep_millisecs"} {
			v, err := ksmRead(n)
			if err != nil {
				testutil.Missing(t, "KSM in the lab machine's kernel: %v", err)
			}
			before[n] = v
		}
		opt := Options{Guest: a, VMs: 2, Window: 5 * time.Second, Timeout: 10 * time.Minute, Emulated: true, KSM: true}
		res, err := Run(context.Background(), opt, nil)
		if err != nil {
			t.Fatal(err)
		}
		k := res.KSM
		if k == nil || !k.Available || len(k.Samples) < 2 || k.PSSBeforeBytes == 0 {
			t.Fatalf("KSM result: %+v", k)
		}
		t.Logf("KSM gave back %d KiB of 2 VMs in %v (half after %v); PSS %d → %d KiB",
			k.SavedBytes>>10, time.Duration(k.Samples[len(k.Samples)-1].AtNS), time.Duration(k.HalfNS), k.PSSBeforeBytes>>10, k.PSSAfterBytes>>10)
		for n, v := range before {
			if got, _ := ksmRead(n); got != v {
				t.Errorf("ksm %s is %s after the run, was %s", n, got, v)
			}
		}
		assertGone(t, res)
	})
	t.Run("sigkill", func(t *testing.T) { testSIGKILLMidStart(t, 3, 0) })
}

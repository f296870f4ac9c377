package container

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func runOK(t *testing.T, s Spec) Result {
	t.Helper()
	if s.Timeout == 0 {
		s.Timeout = 60 * time.Second
	}
	res, err := Run(context.Background(), s)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// The probe in a container sees the host's kernel (same release, same boot
// id) but its own hostname, PID namespace, network and mount table.
func TestProbeSeesSharedKernelAndOwnNamespaces(t *testing.T) {
	rootfs := labRootfs(t)
	before := takeSnapshot(t)
	res := runOK(t, Spec{Rootfs: rootfs})
	if res.Reason != ReasonExited || res.ExitCode != 0 {
		t.Fatalf("reason %s, exit %d, want exited 0", res.Reason, res.ExitCode)
	}
	r := res.Report
	if r == nil {
		t.Fatal("no READY report")
	}
	var uts unix.Utsname
	unix.Uname(&uts)
	if host := unix.ByteSliceToString(uts.Release[:]); r.KernelRelease != host {
		t.Errorf("kernel release %q, host %q: a container shares the host kernel", r.KernelRelease, host)
	}
	bootID, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if r.BootID != strings.TrimSpace(string(bootID)) {
		t.Errorf("boot_id %q, host %q", r.BootID, bytes.TrimSpace(bootID))
	}
	hostname, _ := os.Hostname()
	if r.Hostname == hostname || r.Hostname != DefaultHostname {
		t.Errorf("hostname %q (host %q), want %q", r.Hostname, hostname, DefaultHostname)
	}
	if r.PID != 1 {
		t.Errorf("pid %d, want 1", r.PID)
	}
	if len(r.Interfaces) != 1 || r.Interfaces[0] != "lo" {
		t.Errorf("interfaces %v, want [lo]", r.Interfaces)
	}
	hostMounts := len(takeSnapshot(t).mounts)
	if r.Mounts == nil || *r.Mounts >= hostMounts {
		t.Errorf("mounts %v, want fewer than the host's %d", r.Mounts, hostMounts)
	}
	want := []string{PhaseProcessStart, PhaseCgroupReady, PhaseClone, PhasePivotRoot, PhaseExec, PhaseReady}
	var got []string
	for _, p := range res.Phases {
		got = append(got, p.Name)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("phases %v, want %v", got, want)
	}
	if res.Memory.CgroupPeakBytes == 0 {
		t.Error("cgroup memory peak is 0")
	}
	if res.CgroupVersion == "" || res.CgroupVersion == "none" {
		t.Errorf("cgroup version %q", res.CgroupVersion)
	}
	assertNoLeak(t, before, takeSnapshot(t))
}

// The same probe run through the separately built init binary (what the
// command line uses) reports the same world.
func TestInitBinary(t *testing.T) {
	rootfs := labRootfs(t)
	before := takeSnapshot(t)
	res := runOK(t, Spec{Rootfs: rootfs, Init: buildInit(t), MemoryLimit: 64 << 20, PidsLimit: 8, Hostname: "ct-test"})
	if res.ExitCode != 0 || res.Report == nil || res.Report.PID != 1 || len(res.Report.Interfaces) != 1 {
		t.Fatalf("exit %d (%s), report %+v", res.ExitCode, res.Reason, res.Report)
	}
	if res.Report.Hostname != "ct-test" {
		t.Errorf("hostname %q, want ct-test", res.Report.Hostname)
	}
	if len(res.Phases) != 6 {
		t.Errorf("phases %v", res.Phases)
	}
	assertNoLeak(t, before, takeSnapshot(t))
}

// The overlay takes the container's writes; the shared rootfs never changes.
func TestWritesStayInOverlay(t *testing.T) {
	rootfs := labRootfs(t)
	name := "twinboot-overlay-test-" + newID()
	var out bytes.Buffer
	res := runOK(t, Spec{Rootfs: rootfs, Stdout: &out, Args: []string{"/bin/sh", "-c", "echo x > /" + name + " && cat /" + name + " && rm /init.gone 2>/dev/null; echo ok"}})
	if res.ExitCode != 0 || !strings.Contains(out.String(), "x\nok") {
		t.Fatalf("exit %d, output %q", res.ExitCode, out.String())
	}
	if _, err := os.Stat(filepath.Join(rootfs, name)); !os.IsNotExist(err) {
		os.Remove(filepath.Join(rootfs, name))
		t.Fatalf("the write reached the lower rootfs (stat: %v)", err)
	}
}

func TestExitCodeAndStreams(t *testing.T) {
	rootfs := labRootfs(t)
	var out, errb bytes.Buffer
	res := runOK(t, Spec{Rootfs: rootfs, Stdout: &out, Stderr: &errb, Args: []string{"/bin/sh", "-c", "echo out; echo err >&2; exit 7"}})
	if res.Reason != ReasonExited || res.ExitCode != 7 {
		t.Errorf("reason %s exit %d, want exited 7", res.Reason, res.ExitCode)
	}
	if out.String() != "out\n" || errb.String() != "err\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errb.String())
	}
	if res.Report != nil {
		t.Error("a report without a READY line")
	}
}

func TestTimeoutKills(t *testing.T) {
	rootfs := labRootfs(t)
	before := takeSnapshot(t)
	res := runOK(t, Spec{Rootfs: rootfs, Args: []string{"/bin/sleep", "60"}, Timeout: 300 * time.Millisecond})
	if res.Reason != ReasonTimeout {
		t.Errorf("reason %s, want %s", res.Reason, ReasonTimeout)
	}
	assertNoLeak(t, before, takeSnapshot(t))
}

// A workload that allocates past its memory limit is killed by the kernel,
// and the result says so instead of a bare SIGKILL.
func TestMemoryLimitOOMKilled(t *testing.T) {
	rootfs := labRootfs(t)
	// busybox dd allocates its block and fills it from /dev/zero: 64 MiB
	// of touched memory against a 16 MiB limit.
	res := runOK(t, Spec{Rootfs: rootfs, MemoryLimit: 16 << 20,
		Args: []string{"/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"}})
	if res.Reason != ReasonOOMKilled {
		t.Fatalf("reason %s (signal %s, exit %d), want %s", res.Reason, res.Signal, res.ExitCode, ReasonOOMKilled)
	}
	if res.Memory.CgroupPeakBytes > 16<<20 {
		t.Errorf("cgroup peak %d above the 16 MiB limit", res.Memory.CgroupPeakBytes)
	}
}

// A child killed by the OOM killer while the init lives on and exits 0:
// the run still says so (the kill used to be seen only as a log line).
func TestOOMKillOfAChildIsReported(t *testing.T) {
	rootfs := labRootfs(t)
	res := runOK(t, Spec{Rootfs: rootfs, MemoryLimit: 16 << 20,
		Args: []string{"/bin/sh", "-c", "/bin/dd if=/dev/zero of=/dev/null bs=64M count=1; exit 0"}})
	if res.Reason != ReasonExited || res.ExitCode != 0 {
		t.Fatalf("reason %s exit %d, want the shell's own exit 0", res.Reason, res.ExitCode)
	}
	if res.OOMKills != 1 {
		t.Errorf("oom_kills %d, want 1 (dd)", res.OOMKills)
	}
}

func TestPidsLimitRefusesForks(t *testing.T) {
	rootfs := labRootfs(t)
	var out bytes.Buffer
	res := runOK(t, Spec{Rootfs: rootfs, PidsLimit: 4, Stdout: &out, Stderr: &out,
		Args: []string{"/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 30 & done; echo done"}})
	if !strings.Contains(out.String(), "can't fork") {
		t.Fatalf("no fork was refused with pids.max 4: exit %d, output %q", res.ExitCode, out.String())
	}
}

// With a user namespace the container's root is host uid 100000; it can
// still write through the overlay (mounted by the parent, see
// mountHostOverlay), and the host's view of that mount is gone afterwards.
func TestUserNamespace(t *testing.T) {
	rootfs := labRootfs(t)
	before := takeSnapshot(t)
	var out bytes.Buffer
	res := runOK(t, Spec{Rootfs: rootfs, UserNS: true, Stdout: &out,
		Args: []string{"/bin/sh", "-c", "cat /proc/self/uid_map; echo hi > /tmp/f && cat /tmp/f"}})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d, output %q", res.ExitCode, out.String())
	}
	f := strings.Fields(out.String())
	if len(f) < 4 || f[0] != "0" || f[1] != "100000" || f[3] != "hi" {
		t.Errorf("uid_map and write: %q", out.String())
	}
	if _, err := os.Stat(filepath.Join(rootfs, "tmp", "f")); !os.IsNotExist(err) {
		t.Errorf("the write reached the lower rootfs (stat: %v)", err)
	}
	assertNoLeak(t, before, takeSnapshot(t))
}

// The limits reach the kernel: from inside, the container mounts the v1
// hierarchies (its cgroup namespace makes its own cgroup their root) and
// reads back what the runtime wrote. Mounting needs CAP_SYS_ADMIN, given
// back here; a default container is refused (TestAttacksRefused). (The v2
// path: TestCgroupV2.)
func TestLimitsAreWrittenV1(t *testing.T) {
	rootfs := labRootfs(t)
	if v := cgroupVersion(); v != "v1" && v != "hybrid" {
		t.Skipf("cgroup layout %s: see TestCgroupV2", v)
	}
	var out bytes.Buffer
	script := `set -e; for c in cpu memory pids; do mkdir -p /tmp/$c; mount -t cgroup -o $c cgroup /tmp/$c; done
cat /tmp/cpu/cpu.cfs_quota_us /tmp/cpu/cpu.cfs_period_us /tmp/memory/memory.limit_in_bytes /tmp/pids/pids.max`
	res := runOK(t, Spec{Rootfs: rootfs, CPUs: 0.5, MemoryLimit: 48 << 20, PidsLimit: 20, Stdout: &out, Stderr: &out,
		CapAdd: []string{"SYS_ADMIN"}, Args: []string{"/bin/sh", "-c", script}})
	want := "50000\n100000\n50331648\n20\n"
	if res.ExitCode != 0 || out.String() != want {
		t.Errorf("exit %d, limits %q, want %q", res.ExitCode, out.String(), want)
	}
}

// Cancelling the context kills the container and Run says why.
func TestCancelKills(t *testing.T) {
	rootfs := labRootfs(t)
	before := takeSnapshot(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	_, err := Run(ctx, Spec{Rootfs: rootfs, Args: []string{"/bin/sleep", "60"}, Timeout: time.Minute})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	assertNoLeak(t, before, takeSnapshot(t))
}

// A read-only root needs no overlay; writes fail instead of landing anywhere.
func TestReadOnlyRoot(t *testing.T) {
	rootfs := labRootfs(t)
	var out bytes.Buffer
	res := runOK(t, Spec{Rootfs: rootfs, ReadOnlyRoot: true, Stdout: &out, Stderr: &out,
		Args: []string{"/bin/sh", "-c", "echo x > /f || echo refused; echo y > /dev/shm/f && echo tmpfs-ok"}})
	if res.ExitCode != 0 || !strings.Contains(out.String(), "refused") || !strings.Contains(out.String(), "tmpfs-ok") {
		t.Fatalf("exit %d, output %q", res.ExitCode, out.String())
	}
}

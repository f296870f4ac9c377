package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/testutil"
	"github.com/twinboot/twinboot/nested/nestedtest"
)

// The exit statuses are one convention across commands (exitHelp): bad
// usage is 2 everywhere, --json or not, before any slow work. With no
// QEMU on PATH, a check made only after nested mode started its machine
// would fail with 1 ("qemu-system-x86 missing"), not 2.
func TestExitUsageEverywhere(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, args := range [][]string{
		{"vm", "--timeout", "-1s", "--mode", "nested"},
		{"run", "--timeout", "-1s", "--mode", "nested"},
		{"bench", "--timeout", "-1s", "--mode", "nested"},
		{"ct", "run", "--timeout", "-1s", "--mode", "nested"},
		{"ct", "run", "--json", "--timeout", "-1s"},
		{"ct", "run", "--json", "--bogus"},
		{"ct", "run", "--rootfs", "/nonexistent/rootfs", "--mode", "nested"},
		{"ct", "run", "--bundle", "/etc/hostname", "--mode", "nested"},
		{"bench", "--out", "/nonexistent/dir/x.json", "--mode", "nested"},
		{"bench", "--out", "/proc/version/x.json", "--mode", "nested"},
		{"nested", "exec"},
		{"doctor", "extra"},
		{"chart"},
	} {
		var out, errb bytes.Buffer
		if code := dispatch(args, &out, &errb); code != exitUsage {
			t.Errorf("%q: exit %d, want %d; stderr %q", args, code, exitUsage, errb.String())
		}
	}
}

// A --timeout that runs out is 124 for run as for vm and ct run; a run
// stopped by SIGTERM is 143, after its clean-up, with nothing left behind.
func TestExitTimeoutAndSignal(t *testing.T) {
	testutil.Root(t)
	testutil.Guest(t)
	bin := twinbootBinary(t)
	// The container side runs out of time natively; the VM side in L1,
	// where no lab kernel boots to READY in 300 ms (emulated twice).
	cmd := exec.Command(bin, "ct", "run", "--timeout", "300ms", "--", "/bin/sleep", "10")
	if out, err := cmd.CombinedOutput(); exitCode(err) != exitTimeout {
		t.Errorf("ct run --timeout: %v, want exit %d; output:\n%s", err, exitTimeout, out)
	}
	if !host.InsideL1() {
		nestedtest.Options(t)
		cmd = exec.Command(bin, "run", "--mode", "nested", "--timeout", "300ms")
		if out, err := cmd.CombinedOutput(); exitCode(err) != exitTimeout {
			t.Errorf("run --mode nested --timeout 300ms: %v, want exit %d; output:\n%s", err, exitTimeout, out)
		}
	}

	before := descendants(os.Getpid())
	cmd = exec.Command(bin, "bench", "--mode", "native", "--runs", "1000", "--warmup", "0", "--timeout", "1m")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		// A bench killed by the test's failure leaves its container's
		// state; the next command removes it.
		exec.Command(bin, "version").Run()
	})
	time.Sleep(2 * time.Second) // well inside the benchmark
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if exitCode(err) != exitSignal+int(syscall.SIGTERM) {
		t.Fatalf("bench after SIGTERM: %v, want exit 143; stderr:\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "stopped by SIGTERM") {
		t.Errorf("stderr does not say what stopped it: %q", errb.String())
	}
	if left := descendants(os.Getpid()); len(left) > len(before) {
		t.Errorf("processes left after SIGTERM: %v", left)
	}
}

// exitCode is a finished command's exit status (-1 when it did not exit).
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// descendants lists pid's descendants, by command name.
func descendants(pid int) []string {
	var out []string
	procs := testutil.Processes()
	parent := map[int]int{}
	for _, p := range procs {
		parent[p.PID] = p.PPID
	}
	for _, p := range procs {
		for q := p.PPID; q > 1; q = parent[q] {
			if q == pid {
				out = append(out, p.Comm)
				break
			}
		}
	}
	return out
}

// A file that exists but is not a kernel is named for what it is, before
// nested mode copies it into L1: never "not found".
func TestBadKernelNamedUpFront(t *testing.T) {
	for _, args := range [][]string{
		{"vm", "--mode", "nested", "--kernel", "/etc/hostname"},
		{"run", "--mode", "nested", "--kernel", "/etc/hostname"},
		{"bench", "--mode", "nested", "--kernel", "/etc/hostname"},
	} {
		var out, errb bytes.Buffer
		code := dispatch(args, &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), "not a bootable kernel") || strings.Contains(errb.String(), "not found") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and 'not a bootable kernel'", args, code, errb.String())
		}
	}
}

// A mistyped $TWINBOOT_BUILD is refused before any work by every command
// that would use it (never created, never downloaded into); doctor says so.
func TestMistypedBuildDir(t *testing.T) {
	t.Setenv("TWINBOOT_BUILD", "/nonexistent/twinboot-build")
	for _, args := range [][]string{{"vm"}, {"run"}, {"ct", "run"}, {"nested", "build"}, {"guest", "info"}} {
		var out, errb bytes.Buffer
		if code := dispatch(args, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "TWINBOOT_BUILD=/nonexistent/twinboot-build is not a directory") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errb.String())
		}
	}
	if _, err := os.Stat("/nonexistent"); !os.IsNotExist(err) {
		t.Errorf("/nonexistent exists now: %v", err)
	}
	var out, errb bytes.Buffer
	if code := dispatch([]string{"doctor"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "is not a directory") {
		t.Errorf("doctor: exit %d, report:\n%s", code, out.String())
	}
}

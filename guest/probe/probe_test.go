package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/guest/probe/internal/observe"
	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/internal/testutil"
)

// rootTree builds the real probe from this package and realises the real
// root tree (probe as /init, busybox) in a temporary directory.
func rootTree(t *testing.T) string {
	t.Helper()
	testutil.Root(t)
	if _, err := os.Stat(guest.DefaultBusybox); err != nil {
		testutil.Missing(t, "static busybox (Debian's busybox-static): %v", err)
	}
	tmp := t.TempDir()
	probe := filepath.Join(tmp, "probe")
	build := exec.Command("go", "build", "-trimpath", "-o", probe, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build probe: %v\n%s", err, out)
	}
	es, err := guest.RootfsEntries(probe, guest.DefaultBusybox)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "root")
	if err := guest.WriteTree(dir, es); err != nil {
		t.Fatal(err)
	}
	// Whatever a test mounts inside the tree goes away with it, even if the
	// test fails half way. MNT_DETACH: a probe may still hold a mount busy.
	t.Cleanup(func() {
		for _, m := range []string{"dev", "sys", "proc"} {
			unix.Unmount(filepath.Join(dir, m), unix.MNT_DETACH)
		}
	})
	return dir
}

// runProbe runs /init of the tree in a chroot and returns its one line.
func runProbe(t *testing.T, dir string, attr *syscall.SysProcAttr, args ...string) (report.Report, *exec.Cmd) {
	t.Helper()
	attr.Chroot = dir
	cmd := exec.Command("/init", args...)
	cmd.SysProcAttr = attr
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("probe: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	if strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, report.Prefix) {
		t.Fatalf("want exactly one READY line, got %q (stderr %q)", out, stderr.String())
	}
	r, err := report.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	return r, cmd
}

func hostFacts(t *testing.T) (release, bootID string, cpus int) {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	id, err := observe.BootID(os.DirFS("/"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := observe.OnlineCPUs(os.DirFS("/"))
	if err != nil {
		t.Fatal(err)
	}
	return unix.ByteSliceToString(u.Release[:]), id, n
}

// In a chroot the probe shares the host's kernel: same release, same boot
// ID, same CPUs. That is the container half of the lesson.
func TestProbeInChroot(t *testing.T) {
	dir := rootTree(t)
	for _, m := range []struct{ fstype, target string }{{"proc", "proc"}, {"sysfs", "sys"}} {
		if err := unix.Mount(m.fstype, filepath.Join(dir, m.target), m.fstype, 0, ""); err != nil {
			t.Fatalf("mount %s: %v", m.fstype, err)
		}
	}
	release, bootID, cpus := hostFacts(t)

	r, cmd := runProbe(t, dir, &syscall.SysProcAttr{}, "--mode", "exit", "--syscalls", "500")
	if r.Mode != "exit" {
		t.Errorf("mode = %q", r.Mode)
	}
	if r.PID != cmd.Process.Pid {
		t.Errorf("pid = %d, want %d", r.PID, cmd.Process.Pid)
	}
	if r.KernelRelease != release {
		t.Errorf("kernel_release = %q, want the host's %q", r.KernelRelease, release)
	}
	if r.BootID != bootID {
		t.Errorf("boot_id = %q, want the host's %q", r.BootID, bootID)
	}
	if r.CPUs != cpus {
		t.Errorf("cpus = %d, want %d", r.CPUs, cpus)
	}
	if r.Syscalls == nil || r.Syscalls.Count != 500 || r.Syscalls.TotalNS <= 0 {
		t.Errorf("syscalls = %+v", r.Syscalls)
	}
	if r.Mounts == nil || *r.Mounts < 2 || r.UptimeSec == nil || r.MemTotalKB == nil || r.Cgroup == "" {
		t.Errorf("missing fields: %+v", r)
	}
	if !contains(r.Interfaces, "lo") {
		t.Errorf("interfaces = %v, want lo among them", r.Interfaces)
	}
	if len(r.Errors) != 0 {
		t.Errorf("errors = %v", r.Errors)
	}
}

// As PID 1 of new PID and mount namespaces, with nothing mounted in the
// tree, the probe mounts /proc, /sys and /dev itself, as it must in a VM.
// The mounts live in the child's mount namespace and vanish with it.
func TestProbeAsPID1MountsWhatIsMissing(t *testing.T) {
	dir := rootTree(t)
	r, _ := runProbe(t, dir, &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWPID | unix.CLONE_NEWNS},
		"--mode", "exit", "--syscalls", "10")
	if r.PID != 1 {
		t.Fatalf("pid = %d, want 1", r.PID)
	}
	for k, v := range r.Errors {
		if strings.HasPrefix(k, "mount") {
			t.Errorf("%s: %s", k, v)
		}
	}
	if r.BootID == "" || r.UptimeSec == nil || r.CPUs == 0 {
		t.Errorf("fields missing although /proc and /sys were mounted: %+v", r)
	}
	// The host's mount table is untouched: the child's mounts were private.
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(mi, []byte(dir)) {
		t.Errorf("a mount under %s leaked into the host's namespace", dir)
	}
}

// Bad flags and command-line values never stop the probe from reporting.
func TestProbeOddInputs(t *testing.T) {
	dir := rootTree(t)
	r, _ := runProbe(t, dir, &syscall.SysProcAttr{}, "--mode", "dance", "--syscalls", "-5")
	if r.Mode != "exit" {
		t.Errorf("mode = %q, want the fallback exit", r.Mode)
	}
	for _, f := range []string{"mode", "syscalls"} {
		if r.Errors[f] == "" {
			t.Errorf("no error recorded for %s: %v", f, r.Errors)
		}
	}
	// Without /proc and /sys mounted the fields are absent, with reasons.
	if r.BootID != "" || r.Errors["boot_id"] == "" {
		t.Errorf("boot_id = %q, error %q", r.BootID, r.Errors["boot_id"])
	}
	if r.Syscalls == nil || r.Syscalls.Count != 0 {
		t.Errorf("syscalls = %+v, want an empty burst", r.Syscalls)
	}
}

func TestProbeUsageError(t *testing.T) {
	dir := rootTree(t)
	cmd := exec.Command("/init", "--no-such-flag")
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: dir}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("err = %v, want exit status 2; output %q", err, out)
	}
	if bytes.Contains(out, []byte(report.Prefix)) {
		t.Fatalf("printed a READY line on a usage error: %q", out)
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Shell mode outside PID 1: the probe prints its line, then becomes
// busybox sh, which reads commands from stdin.
func TestProbeShellMode(t *testing.T) {
	dir := rootTree(t)
	cmd := exec.Command("/init", "--mode", "shell", "--syscalls", "1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: dir}
	cmd.Stdin = strings.NewReader("echo shell-says-$((6*7)); exit 4\n")
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 4 {
		t.Fatalf("err = %v, want the shell's exit status 4; output %q", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], report.Prefix) || lines[1] != "shell-says-42" {
		t.Fatalf("output %q, want the READY line then the shell's", out)
	}
}

// poweroff mode as PID 1 of a PID namespace: with no twinboot.* on the
// kernel command line (the host's), the probe leaves the I/O port alone and
// calls reboot(2), which in a PID namespace ends only that namespace: its
// init dies of SIGHUP, the kernel's signal for a namespace "restart".
func TestProbePoweroffEndsOnlyItsPIDNamespace(t *testing.T) {
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(cmdline, []byte("twinboot.")) {
		t.Skip("the host's kernel command line has twinboot.* parameters; the probe would write the exit port")
	}
	dir := rootTree(t)
	cmd := exec.Command("/init", "--mode", "poweroff", "--syscalls", "1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: dir, Cloneflags: unix.CLONE_NEWPID | unix.CLONE_NEWNS}
	out, err := cmd.Output()
	if _, perr := report.Parse(string(out)); perr != nil {
		t.Fatalf("no READY line before power-off: %v (%q)", perr, out)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v, want death by signal", err)
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGHUP {
		t.Fatalf("wait status %v, want killed by SIGHUP", ee)
	}
}

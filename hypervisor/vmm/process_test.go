package vmm

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/internal/testutil"
	"github.com/twinboot/twinboot/nested/nestedtest"
)

// envParent makes the test binary the parent of a VMM (see TestMain) for
// the test of what happens when that parent is killed.
const envParent = "TWINBOOT_TEST_VMM_PARENT"

func TestMain(m *testing.M) {
	if k := os.Getenv(envParent); k != "" {
		// A parent that never ends on its own: the VM waits in the
		// probe's shell for keys that never come.
		r, _, _ := os.Pipe()
		_, err := Run(context.Background(), shellVM(k, os.Getenv(envParent+"_INITRD"), r))
		if err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// shellVM is the lab VM with the probe in shell mode, reading input: it
// runs until it is stopped (on kvm_pvm, where the kernel never starts, it
// hangs until then just the same).
func shellVM(kernel, initrd string, input *os.File) hypervisor.Config {
	return hypervisor.Config{
		Kernel: kernel, Initrd: initrd, MemBytes: 128 << 20,
		Cmdline: report.Cmdline(hypervisor.DefaultCmdline, report.ModeShell, -1),
		Input:   input, Timeout: 10 * time.Minute,
	}
}

// needKVM runs the test inside nested mode's L1 where this host has no
// hardware KVM, and says whether the caller must return.
func needKVM(t *testing.T) bool {
	t.Helper()
	if nestedtest.Redirect(t) {
		return true
	}
	testutil.Root(t)
	if _, err := os.Stat(hypervisor.DefaultDevice); err != nil {
		testutil.Missing(t, "%v", err)
	}
	return false
}

// children lists the live children of pid.
func children(pid int) []testutil.Process {
	var out []testutil.Process
	for _, p := range testutil.Processes() {
		if p.PPID == pid {
			out = append(out, p)
		}
	}
	return out
}

// Cancelling Run stops the VM in its VMM process, which still reports: the
// Result says "canceled", the error is context.Canceled, and no process is
// left.
func TestCancelStopsTheVM(t *testing.T) {
	if needKVM(t) {
		return
	}
	a := testutil.Guest(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Long enough for the VMM to start and the VM to be made, even
		// under emulation.
		time.Sleep(5 * time.Second)
		cancel()
	}()
	start := time.Now()
	res, err := Run(ctx, shellVM(a.BzImage, a.Initramfs, r))
	if !errors.Is(err, context.Canceled) || res.Reason != hypervisor.ReasonCanceled {
		t.Fatalf("after cancel: reason %q, err %v", res.Reason, err)
	}
	if d := time.Since(start); d > 5*time.Second+stopGrace+5*time.Second {
		t.Errorf("Run took %v after the cancel", d-5*time.Second)
	}
	if len(res.Phases) == 0 || res.Memory.HWMBytes == 0 {
		t.Errorf("the VMM's report is missing: %+v", res)
	}
	if left := children(os.Getpid()); len(left) > 0 {
		t.Errorf("processes left after Run: %+v", left)
	}
}

// Killing the VMM's parent, even with SIGKILL, kills the VMM: none
// outlives the program that asked for its VM.
func TestVMMDiesWithItsParent(t *testing.T) {
	if needKVM(t) {
		return
	}
	a := testutil.Guest(t)
	// Orphans are reparented to this test, so that it sees the VMM die
	// and reaps it.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), envParent+"="+a.BzImage, envParent+"_INITRD="+a.Initramfs)
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	defer parent.Process.Kill()
	var vmm int
	for deadline := time.Now().Add(time.Minute); vmm == 0; time.Sleep(100 * time.Millisecond) {
		if c := children(parent.Process.Pid); len(c) > 0 {
			vmm = c[0].PID
		}
		if time.Now().After(deadline) {
			t.Fatal("the parent started no VMM within a minute")
		}
	}
	time.Sleep(2 * time.Second) // let the VM get going
	parent.Process.Kill()
	parent.Wait()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var ws unix.WaitStatus
		if pid, err := unix.Wait4(vmm, &ws, unix.WNOHANG, nil); pid == vmm || errors.Is(err, unix.ECHILD) {
			break // reaped here, or already gone
		}
		if time.Now().After(deadline) {
			unix.Kill(vmm, unix.SIGKILL)
			t.Fatalf("the VMM (pid %d) outlived its parent by 30 s", vmm)
		}
	}
}

package nested_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twinboot/twinboot/internal/host"

	"github.com/twinboot/twinboot/doctor"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/testutil"
	"github.com/twinboot/twinboot/nested"
	"github.com/twinboot/twinboot/nested/nestedtest"
)

// TestL1 boots one L1 and runs several jobs in it: the boot is the
// expensive part (about 10 s of emulation), so the checks share it.
func TestL1(t *testing.T) {
	if host.InsideL1() {
		t.Skip("already inside L1")
	}
	opt := nestedtest.Options(t)
	blob := make([]byte, 96<<10)
	rand.Read(blob)
	blobPath := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(blobPath, blob, 0o644); err != nil {
		t.Fatal(err)
	}
	opt.Extra = []nested.File{
		{Src: nestedtest.TestBinary(t), Dst: "/extra/nested.test"},
		{Src: blobPath}, // default destination: /extra/blob
	}
	s := nestedtest.Boot(t, opt)

	t.Run("stdout is binary-safe", func(t *testing.T) {
		res := s.Exec(t, nested.Job{Path: "/bin/sh", Args: []string{"-c", "cat /extra/blob"}})
		if res.Code != 0 || res.Stdout != string(blob) {
			t.Errorf("cat of 96 KiB of random bytes: code %d, %d bytes back, equal %v", res.Code, len(res.Stdout), res.Stdout == string(blob))
		}
	})

	t.Run("doctor reports svm KVM", func(t *testing.T) {
		res := s.Run(t, "doctor", "--json")
		if res.Code != 0 {
			t.Fatalf("doctor --json exit status %d\n%s", res.Code, res.Stderr)
		}
		var r doctor.Report
		if err := json.Unmarshal([]byte(res.Stdout), &r); err != nil {
			t.Fatalf("doctor --json: %v\n%s", err, res.Stdout)
		}
		if !r.InsideL1 || !r.KVM.Present || !r.KVM.Usable {
			t.Errorf("in L1: inside=%v kvm=%+v", r.InsideL1, r.KVM)
		}
		if r.KVM.Flavour != host.FlavourSVM || !r.KVM.HardwareBacked || !r.KVM.NestedPaging {
			t.Errorf("L1's /dev/kvm is %+v, want hardware-style svm with nested paging", r.KVM)
		}
		if r.Mode.Mode != host.ModeNative {
			t.Errorf("mode in L1 = %+v, want native", r.Mode)
		}
		if r.Cgroup.Version != "v2" {
			t.Errorf("L1 cgroup %+v, want v2", r.Cgroup)
		}
	})

	t.Run("exit status and stderr", func(t *testing.T) {
		res := s.Exec(t, nested.Job{Path: "/bin/sh", Args: []string{"-c", "echo out; echo err >&2; exit 7"}})
		if res.Code != 7 || res.Stdout != "out\n" || res.Stderr != "err\n" {
			t.Errorf("got code %d stdout %q stderr %q", res.Code, res.Stdout, res.Stderr)
		}
	})

	t.Run("missing program", func(t *testing.T) {
		res := s.Exec(t, nested.Job{Path: "/bin/sh", Args: []string{"-c", "exec /no/such/program"}})
		if res.Code == 0 {
			t.Errorf("exec of a missing program: code %d", res.Code)
		}
	})

	t.Run("events come back unchanged and labelled emulated", func(t *testing.T) {
		res := s.Exec(t, nested.Job{
			Path: "/extra/nested.test",
			Args: []string{"-test.run", "^TestEmitInsideL1$", "-test.v"},
			Env:  []string{"TWINBOOT_TEST_EMIT=1"},
		})
		if res.Code != 0 {
			t.Fatalf("inner test failed (%d):\n%s%s", res.Code, res.Stdout, res.Stderr)
		}
		var phase *event.Phase
		var logs []string
		for _, ev := range res.Events {
			switch e := ev.(type) {
			case event.Phase:
				phase = &e
			case event.Log:
				logs = append(logs, e.Msg)
			}
		}
		if phase == nil || phase.Name != "first KVM_RUN" || phase.At != 1234*time.Microsecond || !phase.Emulated {
			t.Errorf("phase from L1 = %+v, want first KVM_RUN at 1.234ms, emulated", phase)
		}
		if len(logs) != 1 || logs[0] != "hello from L1" {
			t.Errorf("logs from L1 = %q", logs)
		}
	})

	t.Run("twinboot in L1 is the binary we gave", func(t *testing.T) {
		res := s.Run(t, "version")
		if res.Code != 0 || !strings.HasPrefix(res.Stdout, "twinboot ") {
			t.Errorf("version: %d %q %q", res.Code, res.Stdout, res.Stderr)
		}
	})
}

// TestEmitInsideL1 is the far end of the events check above: it only does
// something when started in L1 by TestL1.
func TestEmitInsideL1(t *testing.T) {
	if !host.InsideL1() || os.Getenv("TWINBOOT_TEST_EMIT") != "1" {
		t.Skip("runs only inside L1, started by TestL1")
	}
	tap := nested.EventTap()
	if tap == nil {
		t.Fatal("no event tap inside L1")
	}
	tap.Emit(event.Phase{Side: event.VM, Name: "first KVM_RUN", At: 1234 * time.Microsecond})
	tap.Emit(event.Log{Msg: "hello from L1"})
}

// childQEMUs lists QEMU processes that are children of this test.
func childQEMUs(t *testing.T) []int {
	t.Helper()
	var pids []int
	for _, p := range testutil.Processes() {
		if p.PPID == os.Getpid() && strings.Contains(p.Comm, "qemu") {
			pids = append(pids, p.PID)
		}
	}
	return pids
}

// checkNoLeaks asserts that no QEMU child and no run directory of this
// process is left.
func checkNoLeaks(t *testing.T, buildDir string) {
	t.Helper()
	if p := childQEMUs(t); len(p) > 0 {
		t.Errorf("QEMU processes left behind: %v", p)
	}
	entries, _ := os.ReadDir(filepath.Join(buildDir, "nested", "run"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), strconv.Itoa(os.Getpid())+"-") {
			t.Errorf("temporary directory left behind: %s", e.Name())
		}
	}
}

func TestQEMUMissing(t *testing.T) {
	opt := nested.Options{QEMU: "/nonexistent/qemu-system-x86_64", BuildDir: t.TempDir()}
	_, err := nested.Prepare(context.Background(), opt)
	if !errors.Is(err, nested.ErrNoQEMU) || !strings.Contains(err.Error(), "qemu-system-x86") {
		t.Fatalf("err = %v, want ErrNoQEMU naming the Debian package qemu-system-x86", err)
	}
	checkNoLeaks(t, opt.BuildDir)
}

func TestCorruptKernel(t *testing.T) {
	if host.InsideL1() {
		t.Skip("already inside L1")
	}
	opt := nestedtest.Options(t)
	opt.Console = nil
	opt.BootTimeout = 90 * time.Second
	// A real kernel with its compressed payload damaged: the setup header is
	// fine, so QEMU loads it, and the decompressor finds the damage.
	m, err := nested.Prepare(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	img, err := os.ReadFile(m.Kernel.Image)
	m.Close()
	if err != nil {
		t.Fatal(err)
	}
	for i := len(img) / 3; i < len(img)*2/3; i += 97 {
		img[i] ^= 0x5a
	}
	bad := filepath.Join(t.TempDir(), "vmlinuz-corrupt")
	if err := os.WriteFile(bad, img, 0o644); err != nil {
		t.Fatal(err)
	}
	opt.Kernel = bad
	opt.Extra = []nested.File{{Src: bad, Dst: "/extra/ballast"}} // exercises the run directory's cleanup
	code, err := nested.Run(context.Background(), opt, nested.Job{Args: []string{"version"}})
	t.Logf("error: %v", err)
	if err == nil || code != -1 {
		t.Fatalf("a corrupt L1 kernel booted (code %d)", code)
	}
	if !errors.Is(err, nested.ErrStopped) && !errors.Is(err, nested.ErrTimeout) {
		t.Errorf("err = %v, want ErrStopped or ErrTimeout", err)
	}
	if !strings.Contains(err.Error(), "last console lines") {
		t.Errorf("error has no console tail: %v", err)
	}
	checkNoLeaks(t, opt.BuildDir)
}

func TestBootTimeout(t *testing.T) {
	if host.InsideL1() {
		t.Skip("already inside L1")
	}
	opt := nestedtest.Options(t)
	opt.Console = nil
	// A shell instead of twinboot as init waits on the console for ever and
	// never says hello: a hang that does not depend on the host's speed.
	opt.Append = "rdinit=/bin/sh"
	opt.BootTimeout = 5 * time.Second
	start := time.Now()
	_, err := nested.Run(context.Background(), opt, nested.Job{Args: []string{"version"}})
	t.Logf("error after %v: %v", time.Since(start), err)
	if !errors.Is(err, nested.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if !strings.Contains(err.Error(), "L1 stopped after") || !strings.Contains(err.Error(), "boot timeout") {
		t.Errorf("timeout error does not say where L1 stopped: %v", err)
	}
	checkNoLeaks(t, opt.BuildDir)
}

func TestCancel(t *testing.T) {
	if host.InsideL1() {
		t.Skip("already inside L1")
	}
	opt := nestedtest.Options(t)
	opt.Console = nil
	opt.Extra = []nested.File{{Src: "/etc/hostname"}} // the archive is then this machine's own
	m, err := nested.Prepare(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// The machine holds its initramfs open: it boots even when the file is
	// gone, as when another twinboot prunes the cache.
	if err := os.Remove(m.Initramfs); err != nil {
		t.Fatal(err)
	}
	s, err := m.Boot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// What Ctrl-C does through signal.NotifyContext, in the middle of a job.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(time.Second, cancel)
	_, err = s.Run(ctx, nested.Job{Path: "/bin/sh", Args: []string{"-c", "sleep 600"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if p := childQEMUs(t); len(p) > 0 {
		t.Errorf("QEMU still running after the cancel: %v", p)
	}
	if _, err := s.Run(context.Background(), nested.Job{Args: []string{"version"}}); !errors.Is(err, nested.ErrStopped) {
		t.Errorf("a job after the cancel: err = %v, want ErrStopped", err)
	}
	s.Close()
	m.Close()
	checkNoLeaks(t, opt.BuildDir)
}

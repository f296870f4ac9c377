package nested_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/internal/host"

	"github.com/twinboot/twinboot/nested/nestedtest"
)

// qemusWithMem finds live QEMU processes started with "-m <mem>": each
// subtest below uses its own odd RAM size as a marker, since the QEMU it
// looks for is a grandchild and may outlive its parent.
func qemusWithMem(mem string) []string {
	matches, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var found []string
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil || !bytes.Contains(b, []byte("qemu-system")) || !bytes.Contains(b, []byte("\x00-m\x00"+mem+"\x00")) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(filepath.Dir(m), "stat"))
		if err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i > 0 && bytes.HasPrefix(stat[i+1:], []byte(" Z")) {
				continue // a zombie is dead; only its parent has not reaped it yet
			}
		}
		found = append(found, filepath.Base(filepath.Dir(m)))
	}
	return found
}

func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// TestSignalsKillQEMU signals a `twinboot nested exec` while its QEMU runs:
// Ctrl-C and SIGTERM must end with status 128+signal (130, 143) after
// killing QEMU; SIGKILL gives twinboot no chance, and QEMU must still die
// (Pdeathsig), and the run's temporary files (an extra file makes some)
// must go at the start of the next command, whatever it is.
func TestSignalsKillQEMU(t *testing.T) {
	if host.InsideL1() {
		t.Skip("already inside L1")
	}
	opt := nestedtest.Options(t)
	for i, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			mem := []string{"1019", "1021", "1023"}[i]
			args := []string{"nested", "exec", "--mem", mem}
			if sig == syscall.SIGKILL {
				args = append(args, "--file", "/etc/hostname")
			}
			cmd := exec.Command(opt.Binary, append(args, "--", "/bin/sh", "-c", "sleep 600")...)
			cmd.Env = append(os.Environ(), "TWINBOOT_BUILD="+opt.BuildDir)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				cmd.Process.Kill()
				cmd.Wait()
				for _, p := range qemusWithMem(mem) {
					t.Errorf("QEMU %s outlived twinboot; killing it", p)
					if pid, err := strconv.Atoi(p); err == nil {
						syscall.Kill(pid, syscall.SIGKILL)
					}
				}
			})
			if !waitFor(2*time.Minute, func() bool { return len(qemusWithMem(mem)) > 0 }) {
				t.Fatalf("QEMU never started; stderr:\n%s", stderr.String())
			}
			time.Sleep(500 * time.Millisecond)
			cmd.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				t.Fatalf("twinboot did not exit within a minute of %v", sig)
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("twinboot exit: %v", err)
			}
			if want := 128 + int(sig); sig != syscall.SIGKILL && ee.ExitCode() != want {
				t.Errorf("exit status %d after %v, want %d; stderr:\n%s", ee.ExitCode(), sig, want, stderr.String())
			}
			if !waitFor(10*time.Second, func() bool { return len(qemusWithMem(mem)) == 0 }) {
				t.Errorf("QEMU still running 10 s after twinboot got %v", sig)
			}
			if sig != syscall.SIGKILL && !strings.Contains(stderr.String(), "stopped by "+unix.SignalName(sig)) {
				t.Errorf("stderr does not say what stopped it:\n%s", stderr.String())
			}
			if sig == syscall.SIGKILL {
				runDir := filepath.Join(opt.BuildDir, "nested", "run", strconv.Itoa(cmd.Process.Pid)+"-*")
				if left, _ := filepath.Glob(runDir); len(left) == 0 {
					t.Fatalf("no run directory %s to clean up: the test proves nothing", runDir)
				}
				next := exec.Command(opt.Binary, "version")
				next.Env = cmd.Env
				out, err := next.CombinedOutput()
				if err != nil {
					t.Fatalf("twinboot version: %v\n%s", err, out)
				}
				if left, _ := filepath.Glob(runDir); len(left) > 0 || !strings.Contains(string(out), "removed what killed runs left behind") {
					t.Errorf("after the next command, %q left; it said:\n%s", left, out)
				}
			}
		})
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/internal/testutil"
)

var (
	ctBinOnce sync.Once
	ctBin     string
	ctBinErr  error
)

// twinbootBinary builds the command once for these tests: the container
// init is the twinboot binary re-executed, so only the real binary shows
// the command working end to end.
func twinbootBinary(t *testing.T) string {
	t.Helper()
	ctBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "twinboot-ct-test-")
		if err != nil {
			ctBinErr = err
			return
		}
		// Readable by everyone: the not-root test runs it as nobody.
		os.Chmod(dir, 0o755)
		ctBin = filepath.Join(dir, "twinboot")
		out, err := exec.Command("go", "build", "-o", ctBin, ".").CombinedOutput()
		if err != nil {
			ctBinErr = err
			ctBin = string(out)
		}
	})
	if ctBinErr != nil {
		t.Fatalf("go build: %v: %s", ctBinErr, ctBin)
	}
	return ctBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if ctBin != "" && ctBinErr == nil {
		os.RemoveAll(filepath.Dir(ctBin))
	}
	os.Exit(code)
}

func runTwinboot(t *testing.T, cred *syscall.Credential, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(twinbootBinary(t), args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestCtRunNotRoot(t *testing.T) {
	testutil.Root(t) // to switch to another uid
	_, stderr, code := runTwinboot(t, &syscall.Credential{Uid: 65534, Gid: 65534}, "ct", "run", "--rootfs", "/")
	if code != 1 || !strings.Contains(stderr, "needs root") {
		t.Fatalf("exit %d, stderr %q; want 1 and a 'needs root' message", code, stderr)
	}
}

func TestCtRunDefault(t *testing.T) {
	testutil.Root(t)
	testutil.Guest(t)
	stdout, stderr, code := runTwinboot(t, nil, "ct", "run")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"TWINBOOT-READY", "exited (exit code 0)", "READY seen", "cgroup peak", "pid 1"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestCtRunJSONAndExitCode(t *testing.T) {
	testutil.Root(t)
	a := testutil.Guest(t)
	stdout, stderr, code := runTwinboot(t, nil, "ct", "run", "--json", "--rootfs", a.Rootfs, "--mem", "64M", "--pids", "16", "--", "/bin/sh", "-c", "echo to-stderr; exit 5")
	if code != 5 {
		t.Fatalf("exit %d, want the container's 5: %s", code, stderr)
	}
	var res container.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
	}
	if res.ExitCode != 5 || res.Reason != container.ReasonExited {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(stderr, "to-stderr") {
		t.Errorf("with --json the container's output goes to stderr; got %q", stderr)
	}
}

func TestCtRunJSONError(t *testing.T) {
	testutil.Root(t)
	// A missing bundle is bad usage (2), refused before any work; with
	// --json it is still one JSON document on stdout.
	stdout, _, code := runTwinboot(t, nil, "ct", "run", "--json", "--bundle", "/nonexistent-bundle")
	var e struct{ Error string }
	if code != exitUsage || json.Unmarshal([]byte(stdout), &e) != nil || !strings.Contains(e.Error, "--bundle") {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
}

func TestCtSpecParses(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr, code := runTwinboot(t, nil, "ct", "spec", "--rootfs", dir, "--", "/bin/echo", "hi")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	s, err := container.ParseConfig([]byte(stdout))
	if err != nil {
		t.Fatal(err)
	}
	if s.Root.Path != dir || strings.Join(s.Process.Args, " ") != "/bin/echo hi" {
		t.Errorf("root %q args %v", s.Root.Path, s.Process.Args)
	}
}

func TestCtUsage(t *testing.T) {
	for _, args := range [][]string{{"ct"}, {"ct", "frob"}, {"ct", "run", "--mem", "lots"}} {
		_, stderr, code := runTwinboot(t, nil, args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage): %s", args, code, stderr)
		}
	}
}

// SIGTERM sent to `twinboot ct run` reaches the container's PID 1, whose
// own handler decides the exit code.
func TestCtRunForwardsSIGTERM(t *testing.T) {
	testutil.Root(t)
	a := testutil.Guest(t)
	cmd := exec.Command(twinbootBinary(t), "ct", "run", "--rootfs", a.Rootfs, "--",
		"/bin/sh", "-c", `trap "echo got-term; exit 3" TERM; echo ready; while true; do sleep 0.05; done`)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	buf := make([]byte, 4096)
	var got string
	for !strings.Contains(got, "ready") {
		n, err := out.Read(buf)
		if err != nil {
			t.Fatalf("container never became ready: %v (output %q)", err, got)
		}
		got += string(buf[:n])
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(out)
	got += string(rest)
	err = cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 3 || !strings.Contains(got, "got-term") {
		t.Fatalf("wait: %v, output %q; want exit 3 after got-term", err, got)
	}
}

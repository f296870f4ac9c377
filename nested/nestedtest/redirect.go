package nestedtest

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/testutil"
	"github.com/twinboot/twinboot/nested"
)

// NeedsL1 reports whether a test that needs a hardware-style /dev/kvm must
// run inside L1: true on hosts where `--mode auto` would pick nested, false
// inside L1 and on hosts with VT-x or AMD-V.
func NeedsL1() bool {
	d, err := host.Decide(host.ModeAuto)
	return err == nil && d.Mode == host.ModeNested
}

// Redirect runs the calling test inside L1 when the host needs it, and
// returns true: the caller must then return at once, because the test has
// already run (and passed, failed or skipped) there. It returns false when
// the test should run here.
//
// It re-runs this very test binary in L1, limited to t.Name(), with
// TWINBOOT_REQUIRE passed through. The binary must be static; when it is
// not (go test with cgo enabled), it is rebuilt with CGO_ENABLED=0 from the
// package directory, which is the test's working directory.
func Redirect(t *testing.T) bool {
	t.Helper()
	if !NeedsL1() {
		return false
	}
	RunInL1(t)
	return true
}

// runPattern anchors each level of a (sub)test name for -test.run.
// RunInL1 re-runs the calling test, by name, inside a freshly booted L1
// machine, whatever the host, and reports its outcome as this test's:
// failed, skipped or passed there. Redirect uses it where the host needs L1;
// tests of L1 itself (a pure cgroup v2, say) call it directly.
func RunInL1(t *testing.T) {
	t.Helper()
	RunInL1With(t)
}

// RedirectWith is Redirect for a test that needs files of the host in L1
// (a disk image made with a host tool L1 lacks): they are carried in with
// the test binary, at their Dst paths.
func RedirectWith(t *testing.T, files ...nested.File) bool {
	t.Helper()
	if !NeedsL1() {
		return false
	}
	RunInL1With(t, files...)
	return true
}

// RunInL1With is RunInL1 with extra files put into L1.
func RunInL1With(t *testing.T, files ...nested.File) {
	t.Helper()
	bin := TestBinary(t)
	opt := Options(t)
	opt.Extra = append([]nested.File{{Src: bin, Dst: "/extra/test.bin"}}, files...)
	s := Boot(t, opt)
	args := []string{"-test.run", runPattern(t.Name()), "-test.v", "-test.count=1"}
	var env []string
	if v := os.Getenv("TWINBOOT_REQUIRE"); v != "" {
		env = append(env, "TWINBOOT_REQUIRE="+v)
	}
	res := s.Exec(t, nested.Job{Path: "/extra/test.bin", Args: args, Env: env})
	for _, l := range strings.Split(strings.TrimRight(res.Stdout+res.Stderr, "\n"), "\n") {
		t.Log("L1: " + l)
	}
	switch {
	case res.Code != 0:
		t.Fatalf("%s failed inside L1 (exit status %d)", t.Name(), res.Code)
	case strings.Contains(res.Stdout, "--- SKIP: "+t.Name()):
		t.Skipf("%s skipped inside L1", t.Name())
	case !strings.Contains(res.Stdout, "--- PASS: "+t.Name()):
		t.Fatalf("%s did not run inside L1 (no PASS line)", t.Name())
	}
}

func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// TestBinary returns a static copy of the running test binary, to put into
// L1 with Options.Extra.
func TestBinary(t testing.TB) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatalf("find test binary: %v", err)
	}
	if isStatic(self) {
		return self
	}
	out := filepath.Join(t.TempDir(), "test.bin")
	cmd := exec.Command("go", "test", "-c", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		testutil.Missing(t, "a static test binary for L1: go test -c: %v\n%s", err, b)
	}
	return out
}

func isStatic(p string) bool {
	f, err := elf.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

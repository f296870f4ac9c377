package guest_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/internal/testutil"
)

// entries lists the real tree, with this test binary standing in for the
// probe: any static file would do for the layout.
func entries(t testing.TB) ([]guest.Entry, string) {
	t.Helper()
	if _, err := os.Stat(guest.DefaultBusybox); err != nil {
		testutil.Missing(t, "static busybox (Debian's busybox-static): %v", err)
	}
	probe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	es, err := guest.RootfsEntries(probe, guest.DefaultBusybox)
	if err != nil {
		t.Fatal(err)
	}
	return es, probe
}

// want is what every root tree must hold; device nodes with their numbers.
var want = []struct {
	path         string
	kind         guest.EntryKind
	major, minor uint32
}{
	{"init", guest.KindFile, 0, 0},
	{"bin/busybox", guest.KindFile, 0, 0},
	{"bin/sh", guest.KindSymlink, 0, 0},
	{"bin/probe", guest.KindSymlink, 0, 0},
	{"dev/console", guest.KindCharDev, 5, 1},
	{"dev/null", guest.KindCharDev, 1, 3},
	{"proc", guest.KindDir, 0, 0},
	{"sys", guest.KindDir, 0, 0},
	{"tmp", guest.KindDir, 0, 0},
	{"dev", guest.KindDir, 0, 0},
}

func TestRootfsEntries(t *testing.T) {
	es, _ := entries(t)
	byPath := map[string]guest.Entry{}
	for i, e := range es {
		if _, dup := byPath[e.Path]; dup {
			t.Errorf("duplicate entry %s", e.Path)
		}
		if dir := path.Dir(e.Path); dir != "." {
			if _, ok := byPath[dir]; !ok {
				t.Errorf("entry %d %s comes before its directory %s", i, e.Path, dir)
			}
		}
		byPath[e.Path] = e
	}
	for _, w := range want {
		e, ok := byPath[w.path]
		if !ok || e.Kind != w.kind || e.Major != w.major || e.Minor != w.minor {
			t.Errorf("%s: got %+v, want kind %d %d:%d", w.path, e, w.kind, w.major, w.minor)
		}
	}
	if byPath["bin/sh"].Target != "/bin/busybox" {
		t.Errorf("bin/sh -> %q", byPath["bin/sh"].Target)
	}
	if byPath["tmp"].Mode != 0o1777 {
		t.Errorf("tmp mode %o", byPath["tmp"].Mode)
	}
}

func TestRootfsMissingInputs(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "probe")
	_, err := guest.RootfsEntries(missing, guest.DefaultBusybox)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("err = %v, want one naming %s", err, missing)
	}
	_, err = guest.RootfsEntries(t.TempDir(), guest.DefaultBusybox)
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("err = %v for a directory as probe", err)
	}
}

// cpioList runs the real cpio tool over a gzip-compressed newc archive and
// returns `cpio -t` (names) and `cpio -tv` (long listing) output.
func cpioList(t *testing.T, gz []byte) (names []string, long string) {
	t.Helper()
	if _, err := exec.LookPath("cpio"); err != nil {
		testutil.Missing(t, "the cpio tool (Debian's cpio): %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	run := func(flags string) string {
		cmd := exec.Command("cpio", flags, "--quiet")
		cmd.Stdin = bytes.NewReader(raw)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("cpio %s: %v: %s", flags, err, stderr.String())
		}
		return string(out)
	}
	return strings.Fields(run("-t")), run("-tv")
}

// checkListing checks that cpio lists every expected entry and shows the
// device nodes with the right major and minor numbers.
func checkListing(t *testing.T, names []string, long string, es []guest.Entry) {
	t.Helper()
	listed := map[string]bool{}
	for _, n := range names {
		listed[n] = true
	}
	for _, e := range es {
		if !listed[e.Path] {
			t.Errorf("cpio -t does not list %s", e.Path)
		}
	}
	if len(names) != len(es) {
		t.Errorf("cpio lists %d entries, want %d", len(names), len(es))
	}
	for _, w := range want {
		if w.kind != guest.KindCharDev {
			continue
		}
		re := regexp.MustCompile(`(?m)^c\S+\s+\d+\s+\S+\s+\S+\s+` + itoa(w.major) + `,\s+` + itoa(w.minor) + `\s.*\s` + regexp.QuoteMeta(w.path) + `$`)
		if !re.MatchString(long) {
			t.Errorf("cpio -tv shows no char device %s %d,%d:\n%s", w.path, w.major, w.minor, grepLine(long, w.path))
		}
	}
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

func grepLine(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasSuffix(l, " "+sub) {
			return l
		}
	}
	return "(no line)"
}

func TestInitramfsListedByCpio(t *testing.T) {
	es, _ := entries(t)
	var a, b bytes.Buffer
	if err := guest.WriteInitramfs(&a, es); err != nil {
		t.Fatal(err)
	}
	names, long := cpioList(t, a.Bytes())
	checkListing(t, names, long, es)

	// Reproducible: the same entries give the same bytes.
	if err := guest.WriteInitramfs(&b, es); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two archives of the same tree differ")
	}
	k1, err := guest.RootfsKey(es)
	if err != nil {
		t.Fatal(err)
	}
	if k2, _ := guest.RootfsKey(es); k1 != k2 {
		t.Error("rootfs key is not stable")
	}
	if !strings.Contains(long, "1970") {
		t.Error("mtimes are not fixed at the epoch")
	}
}

func TestWriteTree(t *testing.T) {
	testutil.Root(t)
	es, probe := entries(t)
	dir := filepath.Join(t.TempDir(), "root")
	if err := guest.WriteTree(dir, es); err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(dir, w.path), &st); err != nil {
			t.Errorf("%s: %v", w.path, err)
			continue
		}
		if w.kind == guest.KindCharDev {
			if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != w.major || unix.Minor(st.Rdev) != w.minor {
				t.Errorf("%s: mode %o rdev %d:%d", w.path, st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
			}
		}
	}
	if target, err := os.Readlink(filepath.Join(dir, "bin/sh")); err != nil || target != "/bin/busybox" {
		t.Errorf("bin/sh -> %q, %v", target, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "tmp")); err != nil || st.Mode()&os.ModeSticky == 0 || st.Mode().Perm() != 0o777 {
		t.Errorf("tmp: %v %v", st.Mode(), err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "init"))
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(probe)
	if !bytes.Equal(got, orig) {
		t.Error("/init is not a copy of the probe")
	}
	if err := guest.WriteTree(dir, es); err == nil {
		t.Error("WriteTree over an existing tree did not fail")
	}
	if _, err := os.Stat(dir + ".partial"); !os.IsNotExist(err) {
		t.Errorf("a .partial tree was left behind: %v", err)
	}
}

// The initramfs `make guest` built holds the whole tree, device nodes
// included, as the real cpio tool sees it.
func TestBuiltInitramfs(t *testing.T) {
	a := testutil.Guest(t)
	gz, err := os.ReadFile(a.Initramfs)
	if err != nil {
		t.Fatal(err)
	}
	es, err := guest.RootfsEntries(a.Probe, guest.DefaultBusybox)
	if err != nil {
		t.Fatal(err)
	}
	names, long := cpioList(t, gz)
	checkListing(t, names, long, es)
	// The rootfs directory is the same tree.
	for _, e := range es {
		if _, err := os.Lstat(filepath.Join(a.Rootfs, e.Path)); err != nil {
			t.Errorf("rootfs lacks %s: %v", e.Path, err)
		}
	}
}

// How long packing the initramfs takes (it runs on every new probe build).
func BenchmarkWriteInitramfs(b *testing.B) {
	es, _ := entries(b)
	var buf bytes.Buffer
	for i := 0; i < b.N; i++ {
		buf.Reset()
		if err := guest.WriteInitramfs(&buf, es); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes")
}

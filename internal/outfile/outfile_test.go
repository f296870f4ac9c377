package outfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteWholeOrNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.json")
	if err := Write(p, func(w io.Writer) error { _, err := io.WriteString(w, "old"); return err }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, func(w io.Writer) error { io.WriteString(w, "half"); return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatalf("a failed write changed the file: %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", st.Mode().Perm())
	}
}

// A full disk: /dev/full refuses every write with ENOSPC. Writing through
// a directory on a tmpfs of one page shows the same for a real file.
func TestWriteFullDisk(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to mount a tiny tmpfs")
	}
	dir := t.TempDir()
	if err := mountTiny(dir); err != nil {
		t.Skipf("tmpfs: %v", err)
	}
	defer unmount(dir)
	p := filepath.Join(dir, "chart.svg")
	err := Write(p, func(w io.Writer) error { _, err := w.Write(make([]byte, 1<<20)); return err })
	if err == nil {
		t.Fatal("a 1 MiB write on a 4 KiB file system succeeded")
	}
	if _, serr := os.Stat(p); !os.IsNotExist(serr) {
		t.Fatalf("a failed write left %s (err %v)", p, serr)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("temporary files left: %v", ents)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	if err := Check(filepath.Join(dir, "x.json")); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"/nonexistent/dir/x.json", dir, "/proc/version/x"} {
		if err := Check(bad); err == nil || !strings.Contains(err.Error(), "output ") {
			t.Errorf("Check(%q) = %v, want an output error", bad, err)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("Check left files: %v", ents)
	}
}

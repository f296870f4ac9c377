package guest

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/cavaliergopher/cpio"
)

func TestArchive(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "hello"), []byte("hello, L1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(src, "tree", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "tree", "sub", "f"), []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/f", filepath.Join(src, "tree", "link")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	a := NewArchive(&buf)
	a.Dir("/bin")
	a.CharDev("/dev/console", 0o600, 5, 1)
	a.File("/bin/hello", 0o755, filepath.Join(src, "hello"))
	a.Symlink("/init", "/bin/hello")
	a.Bytes("/etc/x", 0o644, []byte("xyz"))
	a.Tree("/t", filepath.Join(src, "tree"))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%4 != 0 {
		t.Errorf("archive length %d is not a multiple of 4", buf.Len())
	}

	got := map[string]string{}
	modes := map[string]cpio.FileMode{}
	r := cpio.NewReader(bytes.NewReader(buf.Bytes()))
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		b, _ := io.ReadAll(r)
		if h.Mode&cpio.ModeType == cpio.TypeSymlink {
			b = []byte(h.Linkname)
		}
		got[h.Name] = string(b)
		modes[h.Name] = h.Mode
	}
	for name, want := range map[string]string{
		"bin/hello": "hello, L1\n", "init": "/bin/hello", "etc/x": "xyz",
		"t/sub/f": "abc", "t/link": "sub/f", "dev/console": "",
	} {
		if got[name] != want {
			t.Errorf("%s = %q, want %q", name, got[name], want)
		}
	}
	if m := modes["dev/console"]; m&cpio.ModeType != cpio.TypeChar {
		t.Errorf("dev/console mode %o, want a character device", m)
	}
	if m := modes["t/sub"]; m&cpio.ModeType != cpio.TypeDir {
		t.Errorf("t/sub mode %o, want a directory", m)
	}
	// The device number lives in rdevmajor/rdevminor (header bytes 78..94).
	i := bytes.Index(buf.Bytes(), []byte("dev/console\x00"))
	hdr := buf.Bytes()[i-110 : i]
	major, _ := strconv.ParseUint(string(hdr[78:86]), 16, 32)
	minor, _ := strconv.ParseUint(string(hdr[86:94]), 16, 32)
	if major != 5 || minor != 1 {
		t.Errorf("dev/console is %d:%d, want 5:1", major, minor)
	}
}

func TestArchiveMissingFile(t *testing.T) {
	a := NewArchive(io.Discard)
	a.File("/x", 0o644, filepath.Join(t.TempDir(), "absent"))
	if err := a.Close(); err == nil {
		t.Fatal("want an error for a missing source file")
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twinboot/twinboot/guest"
)

// fakeManifest writes a manifest whose artefacts are small real files, so
// `guest info` can be tested without a kernel build.
func fakeManifest(t *testing.T) guest.Artifacts {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("TWINBOOT_BUILD", dir)
	file := func(name string, size int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	a := guest.Artifacts{
		Key: "0123456789abcdef", KernelRelease: "6.1.192-twinboot", SourceVersion: "6.1.192-2",
		BzImage: file("bzImage", 3<<20), Vmlinux: file("vmlinux", 5<<20), Config: file("config", 2048),
		Probe: file("probe", 100), Rootfs: rootfs, Initramfs: file("initramfs.cpio.gz", 1<<20),
	}
	if err := guest.Save(dir, a); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestGuestCommand(t *testing.T) {
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := dispatch(append([]string{"guest"}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}

	t.Run("usage errors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			msg  string
		}{
			{nil, "needs a subcommand"},
			{[]string{"frob"}, `unknown guest subcommand "frob"`},
			{[]string{"build", "--json"}, "unknown flag: --json"},
			{[]string{"info", "--jobs", "3"}, "unknown flag: --jobs"},
			{[]string{"info", "extra"}, `unexpected arguments ["extra"]`},
		} {
			code, _, stderr := run(tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.msg) {
				t.Errorf("guest %v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.msg)
			}
		}
	})

	t.Run("help after subcommand", func(t *testing.T) {
		if code, stdout, _ := run("build", "--help"); code != 0 || !strings.Contains(stdout, "Usage: twinboot guest build") {
			t.Errorf("exit %d, stdout %q", code, stdout)
		}
	})

	t.Run("info when not built", func(t *testing.T) {
		t.Setenv("TWINBOOT_BUILD", t.TempDir())
		code, stdout, stderr := run("info")
		if code != 1 || stdout != "" || !strings.Contains(stderr, "make guest") {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})

	t.Run("info", func(t *testing.T) {
		a := fakeManifest(t)
		code, stdout, stderr := run("info")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, want := range []string{a.KernelRelease, a.Key, a.SourceVersion, a.BzImage, "3.0 MiB", "5.0 MiB", "2.0 KiB", a.Initramfs} {
			if !strings.Contains(stdout, want) {
				t.Errorf("info output lacks %q:\n%s", want, stdout)
			}
		}
	})

	t.Run("info --json", func(t *testing.T) {
		a := fakeManifest(t)
		code, stdout, stderr := run("info", "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var got guest.Artifacts
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatal(err)
		}
		if got != a {
			t.Errorf("got %+v, want %+v", got, a)
		}
	})

	t.Run("build without a probe", func(t *testing.T) {
		t.Setenv("TWINBOOT_BUILD", t.TempDir())
		code, _, stderr := run("build")
		if code != 1 || !strings.Contains(stderr, "no probe at") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}

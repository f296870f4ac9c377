package guest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/internal/testutil"
)

// A file that cannot be the probe is refused before any build work, with
// what is wrong with it; the built probe passes; the manifest of the last
// good build is untouched by a refused one.
func TestCheckProbe(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name, path, want string
	}{
		{"text", write("text", []byte("#!/bin/sh\necho hi\n"), 0o755), "not an ELF"},
		{"garbage", write("garbage", []byte("\x7fELF\x02\x01\x01garbage"), 0o755), "not an ELF"},
		{"missing", filepath.Join(dir, "nothing"), "not an ELF"},
		{"dynamic", "/bin/true", "dynamically linked"},
		{"no READY line", silent(t, dir), "printed no"},
	} {
		err := guest.CheckProbe(context.Background(), c.path)
		if !errors.Is(err, guest.ErrBadProbe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %v mentioning %q", c.name, err, guest.ErrBadProbe, c.want)
		}
	}
	a := testutil.Guest(t)
	if err := guest.CheckProbe(context.Background(), a.Probe); err != nil {
		t.Errorf("the built probe: %v", err)
	}
	// Build refuses a bad probe first, leaving the manifest as it was.
	build := t.TempDir()
	if err := guest.Save(build, a); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(build, "guest", guest.ManifestName))
	_, err := guest.Build(context.Background(), guest.BuildSpec{BuildDir: build, Probe: filepath.Join(dir, "text")})
	if !errors.Is(err, guest.ErrBadProbe) {
		t.Errorf("Build with a shell script as the probe: %v, want %v", err, guest.ErrBadProbe)
	}
	after, _ := os.ReadFile(filepath.Join(build, "guest", guest.ManifestName))
	if string(before) != string(after) {
		t.Errorf("a refused build changed the manifest")
	}
}

// A mistyped $TWINBOOT_BUILD is an error naming it, never a new directory.
func TestFindBuildDir(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-build")
	t.Setenv(guest.BuildEnv, missing)
	d, err := guest.FindBuildDir()
	if !errors.Is(err, guest.ErrBuildDir) || !strings.Contains(err.Error(), missing) || d != missing {
		t.Errorf("guest.FindBuildDir = %q, %v; want %q and %v", d, err, missing, guest.ErrBuildDir)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("%s was created", missing)
	}
	ok := t.TempDir()
	t.Setenv(guest.BuildEnv, ok)
	if d, err := guest.FindBuildDir(); err != nil || d != ok {
		t.Errorf("guest.FindBuildDir = %q, %v; want %q", d, err, ok)
	}
}

// silent is a static program that exits 0 and prints nothing: busybox run
// as its "true" applet.
func silent(t *testing.T, dir string) string {
	p := filepath.Join(dir, "true")
	if err := os.Symlink(guest.DefaultBusybox, p); err != nil {
		t.Fatal(err)
	}
	return p
}

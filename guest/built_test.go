package guest_test

// Tests of the artefacts `make guest` built (they skip, or fail under
// `make test`, when the guest is not built), and of the kernel recipe's
// handling of bad inputs.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/internal/testutil"
)

// The built kernel carries its config (IKCONFIG); every option of the
// fragment must be in it as asked. This proves the fragment took effect and
// that olddefconfig silently dropped nothing.
func TestBuiltKernelHasFragment(t *testing.T) {
	a := testutil.Guest(t)
	cfg, err := guest.EmbeddedConfig(a.Vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	got, err := guest.ParseConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want, err := guest.ParseConfig(guest.Fragment)
	if err != nil {
		t.Fatal(err)
	}
	if bad := guest.Unmet(want, got); len(bad) > 0 {
		t.Fatalf("the built kernel %s lacks fragment options: %v", a.Vmlinux, bad)
	}
	if got["CONFIG_64BIT"] != "y" || got["CONFIG_X86_64"] != "y" {
		t.Fatal("not a 64-bit kernel")
	}
	// The copy of .config kept beside the kernel is the embedded one.
	onDisk, err := os.ReadFile(a.Config)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, cfg) {
		t.Errorf("%s differs from the config embedded in %s", a.Config, a.Vmlinux)
	}
}

// A second build of the same fragment and source is a cache hit: it finds
// the kernel the manifest names and builds nothing.
func TestKernelCached(t *testing.T) {
	a := testutil.Guest(t)
	var progress bytes.Buffer
	k, err := guest.BuildKernel(context.Background(), guest.KernelSpec{
		GuestDir: filepath.Join(guest.BuildDir(), "guest"),
		Progress: &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !k.Cached || k.Key != a.Key || k.Vmlinux != a.Vmlinux || k.Release != a.KernelRelease {
		t.Fatalf("kernel %+v, want the cached one of manifest %+v", k, a)
	}
	if !strings.Contains(progress.String(), "cached") {
		t.Fatalf("progress %q does not say cached", progress.String())
	}
	if !strings.HasSuffix(a.KernelRelease, "-twinboot") {
		t.Errorf("release %q lacks the fragment's LOCALVERSION", a.KernelRelease)
	}
}

func TestKernelKey(t *testing.T) {
	f := []byte("CONFIG_X=y\n")
	k := guest.KernelKey("1", "6.1.1-1", f)
	for _, other := range []string{
		guest.KernelKey("2", "6.1.1-1", f),
		guest.KernelKey("1", "6.1.1-2", f),
		guest.KernelKey("1", "6.1.1-1", []byte("CONFIG_X=n\n")),
	} {
		if other == k {
			t.Fatalf("key %s does not change with its inputs", k)
		}
	}
	if k != guest.KernelKey("1", "6.1.1-1", f) {
		t.Fatal("key is not stable")
	}
}

func TestKernelMissingSource(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "linux-source-6.1.tar.xz")
	_, err := guest.BuildKernel(context.Background(), guest.KernelSpec{
		GuestDir:      t.TempDir(),
		SourceTarball: missing,
		SourceVersion: "0-test",
	})
	if !errors.Is(err, guest.ErrNoSource) {
		t.Fatalf("err = %v, want ErrNoSource", err)
	}
	if !strings.Contains(err.Error(), missing) {
		t.Fatalf("error %q does not name %s", err, missing)
	}
}

// sourceTree returns the kernel tree `make guest` unpacked, for tests that
// run the kernel's config step without paying for another unpack.
func sourceTree(t *testing.T) (tree, version string) {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", guest.DefaultSourcePackage).Output()
	if err != nil {
		testutil.Missing(t, "Debian's %s: %v", guest.DefaultSourcePackage, err)
	}
	version = string(out)
	tree = filepath.Join(guest.BuildDir(), "guest", "src-"+version, "linux-source-6.1")
	if _, err := os.Stat(filepath.Join(tree, "Makefile")); err != nil {
		testutil.Missing(t, "the unpacked kernel source (make guest): %v", err)
	}
	return tree, version
}

// An option whose dependency tinyconfig leaves off is dropped by
// olddefconfig without a word; the build must refuse and name it. TMPFS is
// a real case: it depends on SHMEM, which tinyconfig turns off.
func TestKernelDroppedOption(t *testing.T) {
	tree, version := sourceTree(t)
	dir := t.TempDir()
	var progress bytes.Buffer
	_, err := guest.BuildKernel(context.Background(), guest.KernelSpec{
		GuestDir:      dir,
		ObjDir:        filepath.Join(dir, "obj"),
		SourceTree:    tree,
		SourceVersion: version,
		Fragment:      []byte("# 64-bit\nCONFIG_64BIT=y\n# tmpfs without its dependency\nCONFIG_TMPFS=y\n"),
		Progress:      &progress,
	})
	if !errors.Is(err, guest.ErrDropped) {
		t.Fatalf("err = %v, want ErrDropped\nprogress:\n%s", err, progress.String())
	}
	if !strings.Contains(err.Error(), "CONFIG_TMPFS=y") || strings.Contains(err.Error(), "CONFIG_64BIT") {
		t.Fatalf("error %q should name CONFIG_TMPFS and only it", err)
	}
}

// When make fails, the end of the build log is printed with its path, and
// the error names the log. A tree whose Makefile fails at once stands in for
// a broken kernel tree.
func TestKernelFailureShowsLog(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		testutil.Missing(t, "make: %v", err)
	}
	tree := t.TempDir()
	mk := "tinyconfig:\n\t@echo boom-from-the-kernel-makefile; exit 3\n"
	if err := os.WriteFile(filepath.Join(tree, "Makefile"), []byte(mk), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var progress bytes.Buffer
	_, err := guest.BuildKernel(context.Background(), guest.KernelSpec{
		GuestDir:      dir,
		ObjDir:        filepath.Join(dir, "obj"),
		SourceTree:    tree,
		SourceVersion: "0-test",
		Progress:      &progress,
	})
	if err == nil {
		t.Fatal("no error from a failing make")
	}
	if !strings.Contains(err.Error(), "build.log") {
		t.Errorf("error %q does not name the log", err)
	}
	if !strings.Contains(progress.String(), "boom-from-the-kernel-makefile") || !strings.Contains(progress.String(), "last lines of") {
		t.Errorf("progress does not show the log's tail:\n%s", progress.String())
	}
}

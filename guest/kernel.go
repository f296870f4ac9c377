package guest

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Fragment is guest/kernel.fragment: the Kconfig options merged over
// tinyconfig. It is compiled in, so the twinboot binary alone can build the
// kernel it was written for.
//
//go:embed kernel.fragment
var Fragment []byte

// KernelRecipeVersion is part of the cache key. Bump it when the recipe
// (the steps below, not the fragment) changes in a way that changes the
// kernel, so stale caches are not reused.
const KernelRecipeVersion = "1"

// Debian ships the kernel source as one tarball; its version is that of the
// linux-source-6.1 package.
const (
	DefaultSourceTarball = "/usr/src/linux-source-6.1.tar.xz"
	DefaultSourcePackage = "linux-source-6.1"
)

// ErrNoSource means the kernel source tarball is missing.
var ErrNoSource = errors.New("kernel source missing (install Debian's linux-source-6.1: make deps)")

// ErrDropped means olddefconfig dropped options the fragment asked for,
// usually because a dependency of theirs is off.
var ErrDropped = errors.New("kernel config: fragment options did not take effect")

// KernelSpec says what to build and where. Zero fields take the defaults.
type KernelSpec struct {
	GuestDir      string // build/guest: caches, source tree and outputs
	Fragment      []byte // default: Fragment
	SourceTarball string // default: DefaultSourceTarball
	// SourceVersion is the Debian version of the source package, part of the
	// cache key. Default: asked of dpkg for DefaultSourcePackage.
	SourceVersion string
	// SourceTree is an already unpacked source tree to use instead of
	// unpacking SourceTarball (tests reuse the one `make guest` unpacked).
	SourceTree string
	// ObjDir holds the kernel's object files (make O=). Default: one per
	// source version under GuestDir, shared by every key, so a changed
	// fragment rebuilds only what the changed options touch.
	ObjDir   string
	Jobs     int       // make -j; default: number of CPUs
	Progress io.Writer // one line per stage; nil: silent
}

// Kernel is a built kernel in the cache.
type Kernel struct {
	Key           string
	Release       string // uname -r
	SourceVersion string
	Dir           string // build/guest/<key>
	BzImage       string
	Vmlinux       string
	Config        string
	Log           string // build.log of the build that made it
	Cached        bool   // true when nothing had to be built
}

// KernelKey hashes what determines the kernel: the recipe, the source
// version and the fragment.
func KernelKey(recipe, sourceVersion string, fragment []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "twinboot kernel recipe %s\nsource %s\n", recipe, sourceVersion)
	h.Write(fragment)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func (s *KernelSpec) defaults() error {
	if s.GuestDir == "" {
		return errors.New("kernel spec: no guest directory")
	}
	if s.Fragment == nil {
		s.Fragment = Fragment
	}
	if s.SourceTarball == "" {
		s.SourceTarball = DefaultSourceTarball
	}
	if s.SourceVersion == "" {
		v, err := debianVersion(DefaultSourcePackage)
		if err != nil {
			return err
		}
		s.SourceVersion = v
	}
	if s.ObjDir == "" {
		s.ObjDir = filepath.Join(s.GuestDir, "obj-"+s.SourceVersion)
	}
	if s.Jobs <= 0 {
		s.Jobs = runtime.NumCPU()
	}
	if s.Progress == nil {
		s.Progress = io.Discard
	}
	return nil
}

// debianVersion asks dpkg for an installed package's version.
func debianVersion(pkg string) (string, error) {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", pkg).Output()
	v := strings.TrimSpace(string(out))
	if err != nil || v == "" {
		return "", fmt.Errorf("version of %s: %v: %w", pkg, err, ErrNoSource)
	}
	return v, nil
}

// kernelFiles lists the outputs of a kernel in dir, "release" last: it is
// written last and so marks a complete build.
func kernelFiles(dir string) Kernel {
	return Kernel{
		Dir:     dir,
		BzImage: filepath.Join(dir, "bzImage"),
		Vmlinux: filepath.Join(dir, "vmlinux"),
		Config:  filepath.Join(dir, "config"),
		Log:     filepath.Join(dir, "build.log"),
	}
}

// BuildKernel returns the kernel for spec from the cache, building it first
// if needed: tinyconfig, the fragment merged over it, olddefconfig, a check
// that every fragment option survived, then vmlinux and bzImage.
func BuildKernel(ctx context.Context, spec KernelSpec) (Kernel, error) {
	if err := spec.defaults(); err != nil {
		return Kernel{}, err
	}
	want, err := ParseConfig(spec.Fragment)
	if err != nil {
		return Kernel{}, fmt.Errorf("kernel fragment: %w", err)
	}
	key := KernelKey(KernelRecipeVersion, spec.SourceVersion, spec.Fragment)
	k := kernelFiles(filepath.Join(spec.GuestDir, key))
	k.Key, k.SourceVersion = key, spec.SourceVersion
	p := progress{w: spec.Progress, start: time.Now(), prefix: "guest: kernel " + key}

	if rel, err := os.ReadFile(filepath.Join(k.Dir, "release")); err == nil {
		k.Release, k.Cached = strings.TrimSpace(string(rel)), true
		p.say("cached (%s, %s)", k.Release, k.Dir)
		return k, nil
	}

	if err := os.MkdirAll(k.Dir, 0o755); err != nil {
		return Kernel{}, fmt.Errorf("kernel build: %w", err)
	}
	unlock, err := lockDir(spec.GuestDir, "kernel.lock", p)
	if err != nil {
		return Kernel{}, err
	}
	defer unlock()
	// Another build may have finished this key while we waited.
	if rel, err := os.ReadFile(filepath.Join(k.Dir, "release")); err == nil {
		k.Release, k.Cached = strings.TrimSpace(string(rel)), true
		p.say("cached (built meanwhile by another run)")
		return k, nil
	}

	src := spec.SourceTree
	if src == "" {
		if src, err = unpackSource(ctx, spec, p); err != nil {
			return Kernel{}, err
		}
	}
	logf, err := os.Create(k.Log)
	if err != nil {
		return Kernel{}, fmt.Errorf("kernel build log: %w", err)
	}
	defer logf.Close()
	b := &kbuild{ctx: ctx, src: src, obj: spec.ObjDir, log: logf, logPath: k.Log, p: p}

	if err := b.configure(spec.Fragment, want); err != nil {
		return Kernel{}, err
	}
	if err := b.compile(spec.Jobs); err != nil {
		return Kernel{}, err
	}
	if err := b.install(k); err != nil {
		return Kernel{}, err
	}
	rel, err := os.ReadFile(filepath.Join(k.Dir, "release"))
	if err != nil {
		return Kernel{}, fmt.Errorf("kernel build: %w", err)
	}
	k.Release = strings.TrimSpace(string(rel))
	p.say("built %s in %s", k.Release, p.elapsed())
	return k, nil
}

// unpackSource unpacks the source tarball once per source version. It
// unpacks into a temporary directory and renames it, so an interrupted
// unpack is never mistaken for a tree.
func unpackSource(ctx context.Context, spec KernelSpec, p progress) (string, error) {
	top := strings.TrimSuffix(filepath.Base(spec.SourceTarball), ".tar.xz")
	dir := filepath.Join(spec.GuestDir, "src-"+spec.SourceVersion)
	tree := filepath.Join(dir, top)
	if _, err := os.Stat(filepath.Join(tree, "Makefile")); err == nil {
		return tree, nil
	}
	if _, err := os.Stat(spec.SourceTarball); err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoSource, err)
	}
	p.say("unpacking %s", spec.SourceTarball)
	t0 := time.Now()
	partial := dir + ".partial"
	if err := os.RemoveAll(partial); err != nil {
		return "", fmt.Errorf("unpack kernel source: %w", err)
	}
	if err := os.MkdirAll(partial, 0o755); err != nil {
		return "", fmt.Errorf("unpack kernel source: %w", err)
	}
	out, err := exec.CommandContext(ctx, "tar", "-xJf", spec.SourceTarball, "-C", partial).CombinedOutput()
	if err != nil {
		os.RemoveAll(partial)
		return "", fmt.Errorf("unpack %s: %v: %s", spec.SourceTarball, err, strings.TrimSpace(string(out)))
	}
	if _, err := os.Stat(filepath.Join(partial, top, "Makefile")); err != nil {
		os.RemoveAll(partial)
		return "", fmt.Errorf("unpack %s: no %s/Makefile inside", spec.SourceTarball, top)
	}
	os.RemoveAll(dir)
	if err := os.Rename(partial, dir); err != nil {
		return "", fmt.Errorf("unpack kernel source: %w", err)
	}
	p.say("unpacked in %s", since(t0))
	return tree, nil
}

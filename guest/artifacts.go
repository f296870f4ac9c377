package guest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrNotBuilt means the guest artefacts are missing: run `make guest`.
var ErrNotBuilt = errors.New("guest not built (run 'make guest')")

// ManifestName is the file under BuildDir()/guest that records the artefacts
// of the last successful build.
const ManifestName = "manifest.json"

// Artifacts says where the built guest lives. Paths are absolute.
type Artifacts struct {
	Key           string `json:"key"`            // hash of fragment, source version and recipe
	KernelRelease string `json:"kernel_release"` // uname -r of the lab kernel
	SourceVersion string `json:"source_version"` // Debian version of linux-source-6.1
	BzImage       string `json:"bzimage"`
	Vmlinux       string `json:"vmlinux"` // ELF with the PVH entry note
	Config        string `json:"config"`  // the kernel's final .config
	Probe         string `json:"probe"`   // static probe binary
	Rootfs        string `json:"rootfs"`  // directory: the container's root
	Initramfs     string `json:"initramfs"`
}

// VMKernel is the kernel a VM boots by default: the ELF vmlinux with its
// PVH note, which our hypervisor and QEMU both enter directly, skipping the
// bzImage's decompressor (time neither side's design is about: about 1 s of
// 3.3 s for QEMU under TCG here); the bzImage when there is no vmlinux.
func (a Artifacts) VMKernel() string {
	if a.Vmlinux != "" {
		return a.Vmlinux
	}
	return a.BzImage
}

// BuildEnv names the build directory explicitly.
const BuildEnv = "TWINBOOT_BUILD"

// ErrBuildDir means $TWINBOOT_BUILD names no directory: a mistyped path must
// be an error, not a fresh place to download and compile into.
var ErrBuildDir = errors.New("build directory not found")

// InstalledDir is where `make install` puts the guest and the lab machine,
// relative to the installed binary's directory (PREFIX/bin → PREFIX/lib/twinboot).
const InstalledDir = "../lib/twinboot"

// BuildDir returns the directory holding build outputs (see FindBuildDir);
// when that fails, the path it would have used, so that the error a caller
// meets later names it.
func BuildDir() string {
	d, _ := FindBuildDir()
	return d
}

// FindBuildDir looks for the build outputs, in this order:
//
//   - $TWINBOOT_BUILD, which must be an existing directory;
//   - build/ at the root of the source tree found by walking up from the
//     working directory (a developer in a clone);
//   - the directory above the running binary's, when that holds a guest:
//     build/bin/twinboot started from anywhere finds build/;
//   - ../lib/twinboot beside the running binary, when it exists: an
//     installed twinboot (`make install`) started from anywhere.
//
// With none found it returns build/ under the working directory and no
// error: a first build creates it there.
func FindBuildDir() (string, error) {
	d, _, err := LocateBuildDir()
	return d, err
}

// LocateBuildDir is FindBuildDir, and says which rule found the directory
// (for doctor).
func LocateBuildDir() (dir, how string, err error) {
	if d := os.Getenv(BuildEnv); d != "" {
		abs, err := filepath.Abs(d)
		if err != nil {
			abs = d
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			return abs, "$" + BuildEnv, fmt.Errorf("%w: %s=%s is not a directory (create it, or unset %s)", ErrBuildDir, BuildEnv, d, BuildEnv)
		}
		return abs, "$" + BuildEnv, nil
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if isSourceRoot(d) {
				return filepath.Join(d, "build"), "the source tree around the working directory", nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err := filepath.EvalSymlinks(exe); err == nil {
			bin := filepath.Dir(exe)
			if up := filepath.Dir(bin); isBuildDir(up) {
				return up, "the build directory of the running binary", nil
			}
			if inst := filepath.Clean(filepath.Join(bin, InstalledDir)); isBuildDir(inst) {
				return inst, "the installed tree beside the running binary (make install)", nil
			}
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "build", "the default, build/", nil
	}
	return filepath.Join(wd, "build"), "the default, build/ in the working directory (nothing built found)", nil
}

// isBuildDir reports whether dir holds a guest build (its manifest).
func isBuildDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "guest", ManifestName))
	return err == nil
}

func isSourceRoot(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	return err == nil && containsModule(b)
}

func containsModule(gomod []byte) bool {
	const want = "module github.com/twinboot/twinboot"
	return len(gomod) >= len(want) && string(gomod[:len(want)]) == want
}

// Load reads the manifest of the last guest build under buildDir and checks
// that every artefact it names still exists.
func Load(buildDir string) (Artifacts, error) {
	path := filepath.Join(buildDir, "guest", ManifestName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Artifacts{}, fmt.Errorf("%w: %s is missing", ErrNotBuilt, path)
	}
	if err != nil {
		return Artifacts{}, fmt.Errorf("read guest manifest: %w", err)
	}
	var a Artifacts
	if err := json.Unmarshal(b, &a); err != nil {
		return Artifacts{}, fmt.Errorf("parse guest manifest %s: %w", path, err)
	}
	// An installed manifest names its artefacts relative to itself, so
	// that the tree works wherever it is put.
	for _, p := range []*string{&a.BzImage, &a.Vmlinux, &a.Config, &a.Probe, &a.Rootfs, &a.Initramfs} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(filepath.Dir(path), *p)
		}
	}
	for _, p := range []string{a.BzImage, a.Vmlinux, a.Probe, a.Rootfs, a.Initramfs} {
		if p == "" {
			return Artifacts{}, fmt.Errorf("%w: manifest %s is incomplete", ErrNotBuilt, path)
		}
		if _, err := os.Stat(p); err != nil {
			return Artifacts{}, fmt.Errorf("%w: %v", ErrNotBuilt, err)
		}
	}
	return a, nil
}

// Save writes a's manifest under buildDir, atomically.
func Save(buildDir string, a Artifacts) error {
	dir := filepath.Join(buildDir, "guest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save guest manifest: %w", err)
	}
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return fmt.Errorf("save guest manifest: %w", err)
	}
	tmp := filepath.Join(dir, ManifestName+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("save guest manifest: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, ManifestName))
}

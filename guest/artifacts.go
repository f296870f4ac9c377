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

// BuildDir returns the directory holding build outputs: $TWINBOOT_BUILD if
// set, else build/ at the root of the source tree found by walking up from
// the working directory, else build/ beside the executable.
func BuildDir() string {
	if d := os.Getenv("TWINBOOT_BUILD"); d != "" {
		if abs, err := filepath.Abs(d); err == nil {
			return abs
		}
		return d
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if isSourceRoot(d) {
				return filepath.Join(d, "build")
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		return filepath.Join(filepath.Dir(exe), "build")
	}
	return "build"
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

package guest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Install copies the current guest of buildDir (the manifest's kernel,
// vmlinux, config, rootfs and initramfs, nothing of older builds or of the
// kernel's build tree) into dest/guest, with a manifest that names them
// relative to itself, and returns the paths it created. `make install`
// puts dest at PREFIX/lib/twinboot, where FindBuildDir looks from an
// installed binary.
func Install(buildDir, dest string) ([]string, error) {
	a, err := Load(buildDir)
	if err != nil {
		return nil, err
	}
	gdir := filepath.Join(dest, "guest")
	kdir := filepath.Join(gdir, a.Key)
	if err := os.MkdirAll(kdir, 0o755); err != nil {
		return nil, fmt.Errorf("install guest: %w", err)
	}
	inst := a
	var made []string
	copyTo := func(src, dir string, dst *string) error {
		if src == "" {
			return nil
		}
		target := filepath.Join(dir, filepath.Base(src))
		os.RemoveAll(target)
		// cp -a keeps the rootfs as it is: modes, symbolic links, the
		// device nodes of /dev.
		if out, err := exec.Command("cp", "-a", src, target).CombinedOutput(); err != nil {
			return fmt.Errorf("install %s: %v: %s", src, err, strings.TrimSpace(string(out)))
		}
		rel, err := filepath.Rel(gdir, target)
		if err != nil {
			return err
		}
		*dst = rel
		made = append(made, target)
		return nil
	}
	for _, c := range []struct {
		src, dir string
		dst      *string
	}{
		{a.BzImage, kdir, &inst.BzImage},
		{a.Vmlinux, kdir, &inst.Vmlinux},
		{a.Config, kdir, &inst.Config},
		{a.Rootfs, gdir, &inst.Rootfs},
		{a.Initramfs, gdir, &inst.Initramfs},
	} {
		if err := copyTo(c.src, c.dir, c.dst); err != nil {
			return made, err
		}
	}
	// The probe is the rootfs's /init.
	rel, err := filepath.Rel(a.Rootfs, a.Probe)
	if err != nil || strings.HasPrefix(rel, "..") {
		return made, fmt.Errorf("install guest: the probe %s is not in the rootfs %s", a.Probe, a.Rootfs)
	}
	inst.Probe = filepath.Join(inst.Rootfs, rel)
	if err := Save(dest, inst); err != nil {
		return made, err
	}
	return append(made, filepath.Join(gdir, ManifestName)), nil
}

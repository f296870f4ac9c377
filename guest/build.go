package guest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// BuildSpec is what `twinboot guest build` asks for.
type BuildSpec struct {
	BuildDir string // build/ (see BuildDir)
	Probe    string // the static probe binary
	Busybox  string // default DefaultBusybox
	Kernel   KernelSpec
	Progress io.Writer
}

// Build makes (or finds in the cache) the kernel, the root tree and the
// initramfs, and records them in the manifest.
func Build(ctx context.Context, s BuildSpec) (Artifacts, error) {
	if s.Progress == nil {
		s.Progress = io.Discard
	}
	if s.Busybox == "" {
		s.Busybox = DefaultBusybox
	}
	abs := func(p string) (string, error) {
		if p == "" {
			return "", errors.New("empty path")
		}
		return filepath.Abs(p)
	}
	var err error
	if s.BuildDir, err = abs(s.BuildDir); err != nil {
		return Artifacts{}, fmt.Errorf("guest build: build dir: %w", err)
	}
	if s.Probe, err = abs(s.Probe); err != nil {
		return Artifacts{}, fmt.Errorf("guest build: probe: %w", err)
	}
	// Checked first: a bad probe must fail the build before minutes of
	// kernel compiling, and never reach the manifest.
	if err := CheckProbe(ctx, s.Probe); err != nil {
		return Artifacts{}, fmt.Errorf("guest build: %w", err)
	}
	guestDir := filepath.Join(s.BuildDir, "guest")
	if err := os.MkdirAll(guestDir, 0o755); err != nil {
		return Artifacts{}, fmt.Errorf("guest build: %w", err)
	}

	ks := s.Kernel
	ks.GuestDir = guestDir
	if ks.Progress == nil {
		ks.Progress = s.Progress
	}
	k, err := BuildKernel(ctx, ks)
	if err != nil {
		return Artifacts{}, err
	}

	rootfs, initramfs, err := BuildRootfs(guestDir, s.Probe, s.Busybox, s.Progress)
	if err != nil {
		return Artifacts{}, err
	}
	a := Artifacts{
		Key:           k.Key,
		KernelRelease: k.Release,
		SourceVersion: k.SourceVersion,
		BzImage:       k.BzImage,
		Vmlinux:       k.Vmlinux,
		Config:        k.Config,
		Probe:         filepath.Join(rootfs, "init"),
		Rootfs:        rootfs,
		Initramfs:     initramfs,
	}
	if err := Save(s.BuildDir, a); err != nil {
		return Artifacts{}, err
	}
	return a, nil
}

// BuildRootfs makes the root tree and its initramfs under guestDir, keyed by
// their contents: rootfs-<key>/ and initramfs-<key>.cpio.gz. A tree that is
// already there is reused, never rewritten, because a container may be
// running on it.
func BuildRootfs(guestDir, probe, busybox string, progress io.Writer) (dir, initramfs string, err error) {
	t0 := time.Now()
	es, err := RootfsEntries(probe, busybox)
	if err != nil {
		return "", "", err
	}
	key, err := RootfsKey(es)
	if err != nil {
		return "", "", err
	}
	p := progress
	dir = filepath.Join(guestDir, "rootfs-"+key)
	initramfs = filepath.Join(guestDir, "initramfs-"+key+".cpio.gz")
	_, errDir := os.Stat(dir)
	_, errImg := os.Stat(initramfs)
	if errDir == nil && errImg == nil {
		fmt.Fprintf(p, "guest: rootfs %s cached (%d entries)\n", key, len(es))
		return dir, initramfs, nil
	}
	if errDir != nil {
		if err := WriteTree(dir, es); err != nil {
			return "", "", err
		}
	}
	if errImg != nil {
		if err := WriteInitramfsFile(initramfs, es); err != nil {
			return "", "", err
		}
	}
	fmt.Fprintf(p, "guest: rootfs %s built in %s (%d entries)\n", key, since(t0), len(es))
	return dir, initramfs, nil
}

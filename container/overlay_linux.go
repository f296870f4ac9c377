package container

import (
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// mountHostOverlay mounts the writable overlay from the parent, on the host,
// for a container with a user namespace. Inside such a container the init
// could mount it itself, but overlayfs does its copy-ups with the mounter's
// credentials: the namespace's root cannot give a copied-up directory its
// real owner (host root, which the namespace does not map), so the first
// write under any directory of the rootfs would fail. Mounted by host root,
// copy-up works, and the container still writes only as its mapped root.
//
// The mount is made private first so that it never propagates to other
// namespaces, recorded before it exists so that a killed run leaves it to
// the next run's clean-up, and detached from the host by detachHostOverlay
// as soon as the container's own mount namespace holds it.
func mountHostOverlay(st *state, lower string) (string, error) {
	merged := filepath.Join(st.dir, "merged")
	if err := st.recordMounts([]string{merged}); err != nil {
		return "", err
	}
	if err := unix.Mount(merged, merged, "", unix.MS_BIND, ""); err != nil {
		return "", fmt.Errorf("bind %s: %w", merged, err)
	}
	if err := unix.Mount("", merged, "", unix.MS_PRIVATE, ""); err != nil {
		return "", fmt.Errorf("make %s private: %w", merged, err)
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, filepath.Join(st.dir, "upper"), filepath.Join(st.dir, "work"))
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return "", fmt.Errorf("mount overlay: this kernel has no overlay file system (modprobe overlay), which a writable root needs; a read-only root (ct run --read-only, or root.readonly in a bundle) does not: %w", err)
		}
		return "", fmt.Errorf("mount overlay on %s: %w", merged, err)
	}
	return merged, nil
}

// detachHostOverlay removes the host's view of the overlay; the container's
// mount namespace keeps its own copy for as long as it lives.
func detachHostOverlay(st *state) error {
	if err := detachMounts(st.Mounts); err != nil {
		return err
	}
	return st.recordMounts(nil)
}

// detachMounts lazily unmounts every layer stacked on each mount point.
func detachMounts(points []string) error {
	var errs []error
	for _, p := range points {
		for i := 0; i < 8; i++ {
			err := unix.Unmount(p, unix.MNT_DETACH)
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
				break // not a mount point (any more)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
				break
			}
		}
	}
	return errors.Join(errs...)
}

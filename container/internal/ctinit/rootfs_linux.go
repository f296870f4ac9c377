package ctinit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultDevices are the device nodes every container's /dev gets.
var DefaultDevices = []struct {
	Name         string
	Major, Minor int64
}{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

// setupRootfs builds the container's file tree in the new mount namespace and
// pivots into it. It runs in the container's init before the workload exists.
//
// Order matters, and each step is here for a reason that bit someone:
//   - "/" is made private recursively first, or every mount below would
//     propagate back into the host's namespace;
//   - the new root must be a mount point for pivot_root: the overlay is one,
//     a plain directory is bind-mounted onto itself;
//   - /proc and /sys are mounted before pivot_root: in a user namespace the
//     kernel only allows a new proc or sysfs while a full one is still
//     visible in the namespace (mnt_too_revealing), and after the pivot the
//     host's are gone;
//   - pivot_root(".", ".") stacks the old root under the new one, and
//     umount2(".", MNT_DETACH) then drops it, without needing a directory to
//     park it in.
func setupRootfs(c *Config) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	root := c.Rootfs
	if c.Overlay {
		root = filepath.Join(c.StateDir, "merged")
		opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s",
			c.Rootfs, filepath.Join(c.StateDir, "upper"), filepath.Join(c.StateDir, "work"))
		if err := unix.Mount("overlay", root, "overlay", 0, opts); err != nil {
			if errors.Is(err, unix.ENODEV) {
				return fmt.Errorf("mount overlay: this kernel has no overlay file system (modprobe overlay), which a writable root needs; a read-only root (ct run --read-only, or root.readonly in a bundle) does not: %w", err)
			}
			return fmt.Errorf("mount overlay on %s: %w", root, err)
		}
	} else {
		if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind rootfs %s onto itself: %w", root, err)
		}
		// Read-only at once, not after the other mounts: a mount point
		// missing from the rootfs must fail (EROFS) rather than be created
		// in a directory other runs share.
		if c.Readonly {
			if err := remountReadonly(root); err != nil {
				return fmt.Errorf("make root read-only: %w", err)
			}
		}
	}
	for _, m := range c.Mounts {
		if err := mountInRoot(root, m); err != nil {
			return err
		}
		if m.Dest == "/dev" && c.PopulateDev {
			if err := populateDev(root, c.UserNS); err != nil {
				return err
			}
		}
	}
	if err := makeDevices(root, c.Devices, c.UserNS); err != nil {
		return err
	}
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("chdir %s: %w", root, err)
	}
	if err := unix.PivotRoot(".", "."); err == nil {
		if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
			return fmt.Errorf("detach old root: %w", err)
		}
	} else if !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("pivot_root %s: %w", root, err)
	} else if err := moveRoot(root); err != nil {
		return err
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	if c.RootPropagation != 0 {
		// Everything was made private first, so that nothing reaches the
		// host; the container's own tree now gets what it asked for.
		if err := unix.Mount("", "/", "", c.RootPropagation, ""); err != nil {
			return fmt.Errorf("set root propagation: %w", err)
		}
	}
	// Kernel parameters while /proc/sys is still writable: the parent
	// allowed only those of the container's own namespaces (see
	// container/sysctl.go).
	for _, k := range c.Sysctls {
		if err := writeSysctl(k); err != nil {
			return err
		}
	}
	for _, p := range c.MaskedPaths {
		if err := maskPath(p); err != nil {
			return err
		}
	}
	for _, p := range c.ReadonlyPaths {
		if err := readonlyPath(p); err != nil {
			return err
		}
	}
	return nil
}

// moveRoot is the fallback when pivot_root refuses (EINVAL) because the
// host's root is the initial ramfs, which can never be unmounted, as in the
// nested-mode L1 machine booted from an initramfs. The new root is moved
// over "/" and chroot'ed into. The host's root stays underneath, which a
// process with CAP_SYS_CHROOT could climb back to: a known weakness of this
// path (runc's --no-pivot has it too), taken only where pivot_root is
// impossible.
func moveRoot(root string) error {
	if err := unix.Mount(root, "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move %s to / (pivot_root is impossible on an initramfs root): %w", root, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot %s: %w", root, err)
	}
	return nil
}

// mountInRoot performs one OCI mount under root (still a host path: this
// runs before pivot_root). The destination is resolved inside root so that a
// symbolic link in the rootfs cannot point a mount at the host.
func mountInRoot(root string, m MountOp) error {
	if err := mountOne(root, m); err != nil {
		return err
	}
	if m.Propagation == 0 {
		return nil
	}
	dest, err := ResolveInRoot(root, m.Dest)
	if err != nil {
		return fmt.Errorf("mount %s: %w", m.Dest, err)
	}
	if err := unix.Mount("", dest, "", m.Propagation, ""); err != nil {
		return fmt.Errorf("set propagation of %s: %w", m.Dest, err)
	}
	return nil
}

func mountOne(root string, m MountOp) error {
	dest, err := ResolveInRoot(root, m.Dest)
	isBind := m.Flags&unix.MS_BIND != 0 || m.Type == "bind"
	if errors.Is(err, os.ErrNotExist) && isBind && filepath.IsAbs(m.Source) {
		// A file bound onto a file: the mount point is an empty file.
		if st, serr := os.Stat(m.Source); serr == nil && !st.IsDir() {
			dest = filepath.Join(root, filepath.Clean("/"+m.Dest))
			if err = os.MkdirAll(filepath.Dir(dest), 0o755); err == nil {
				var f *os.File
				if f, err = os.OpenFile(dest, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
					f.Close()
				}
			}
			if err == nil {
				dest, err = ResolveInRoot(root, m.Dest)
			}
		}
	}
	if errors.Is(err, os.ErrNotExist) {
		dest = filepath.Join(root, filepath.Clean("/"+m.Dest))
		if err = os.MkdirAll(dest, 0o755); errors.Is(err, unix.EROFS) {
			return fmt.Errorf("mount %s: the mount point is missing and the root is read-only", m.Dest)
		}
		if err == nil {
			dest, err = ResolveInRoot(root, m.Dest)
		}
	}
	if err != nil {
		return fmt.Errorf("mount %s: %w", m.Dest, err)
	}
	flags, typ, src := m.Flags, m.Type, m.Source
	if flags&unix.MS_BIND != 0 || typ == "bind" {
		typ = ""
		flags |= unix.MS_BIND
		if !filepath.IsAbs(src) {
			return fmt.Errorf("mount %s: bind source %q must be an absolute host path", m.Dest, src)
		}
	}
	if flags&unix.MS_BIND == 0 {
		if err := unix.Mount(src, dest, typ, flags, m.Data); err != nil {
			return fmt.Errorf("mount %s (%s): %w", m.Dest, m.Type, err)
		}
		return nil
	}
	// A bind mount ignores its other flags; a second, remounting call
	// applies them.
	if err := unix.Mount(src, dest, "", flags&(unix.MS_BIND|unix.MS_REC), m.Data); err != nil {
		return fmt.Errorf("bind %s on %s: %w", src, m.Dest, err)
	}
	if flags&unix.MS_RDONLY != 0 {
		return remountReadonly(dest)
	}
	const perMount = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME
	if extra := flags & perMount; extra != 0 {
		var st unix.Statfs_t
		if err := unix.Statfs(dest, &st); err != nil {
			return fmt.Errorf("statfs %s: %w", m.Dest, err)
		}
		keep := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY)
		if err := unix.Mount("", dest, "", unix.MS_REMOUNT|unix.MS_BIND|extra|keep, ""); err != nil {
			return fmt.Errorf("remount %s with its options: %w", m.Dest, err)
		}
	}
	return nil
}

// makeDevices creates linux.devices under root (still the host path). In a
// user namespace mknod is refused: the host's node at the same path is
// bound instead, as runc does.
func makeDevices(root string, devs []DeviceOp, userns bool) error {
	for _, d := range devs {
		p := filepath.Join(root, filepath.Clean("/"+d.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("device %s: %w", d.Path, err)
		}
		if real, err := ResolveInRoot(root, d.Path); err == nil {
			if real != p {
				return fmt.Errorf("device %s: the path leads elsewhere in the rootfs", d.Path)
			}
			os.Remove(p) // replaced, as runc does
		}
		if userns {
			if err := mountOne(root, MountOp{Source: d.Path, Dest: d.Path, Flags: unix.MS_BIND}); err != nil {
				return err
			}
			continue
		}
		if err := unix.Mknod(p, d.Mode, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))); err != nil {
			return fmt.Errorf("mknod %s: %w", d.Path, err)
		}
		if err := unix.Chmod(p, d.Mode&0o7777); err != nil {
			return fmt.Errorf("chmod %s: %w", d.Path, err)
		}
		if d.UID >= 0 || d.GID >= 0 {
			if err := unix.Lchown(p, int(d.UID), int(d.GID)); err != nil {
				return fmt.Errorf("chown %s: %w", d.Path, err)
			}
		}
	}
	return nil
}

// remountReadonly makes an existing mount read-only. The flags the mount
// already has are kept: inside a user namespace the kernel refuses a remount
// that would drop a "locked" nosuid, nodev or noexec.
func remountReadonly(path string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", path, err)
	}
	keep := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
	if err := unix.Mount("", path, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|keep, ""); err != nil {
		return fmt.Errorf("remount %s read-only: %w", path, err)
	}
	return nil
}

// populateDev fills a fresh /dev tmpfs (root is still the host path). The
// nodes are made with mknod, which costs no mount; inside a user namespace
// mknod is refused, and the host's nodes are bind-mounted instead.
func populateDev(root string, userns bool) error {
	dev := filepath.Join(root, "dev")
	for _, d := range DefaultDevices {
		p := filepath.Join(dev, d.Name)
		if !userns {
			if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))); err != nil {
				return fmt.Errorf("mknod /dev/%s: %w", d.Name, err)
			}
			// mknod obeys the umask; the nodes must be usable by all.
			if err := unix.Chmod(p, 0o666); err != nil {
				return fmt.Errorf("chmod /dev/%s: %w", d.Name, err)
			}
			continue
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o666)
		if err != nil {
			return fmt.Errorf("create /dev/%s: %w", d.Name, err)
		}
		f.Close()
		if err := unix.Mount("/dev/"+d.Name, p, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind /dev/%s: %w", d.Name, err)
		}
	}
	for name, target := range map[string]string{
		"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
		"stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx",
	} {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("link /dev/%s: %w", name, err)
		}
	}
	return nil
}

// maskPath hides a path from the container (after pivot_root): a file is
// covered by /dev/null, a directory by an empty read-only tmpfs. A path the
// kernel does not have is already hidden.
func maskPath(p string) error {
	err := unix.Mount("/dev/null", p, "", unix.MS_BIND, "")
	if errors.Is(err, unix.ENOTDIR) {
		err = unix.Mount("tmpfs", p, "tmpfs", unix.MS_RDONLY, "")
	}
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("mask %s: %w", p, err)
	}
	return nil
}

// readonlyPath bind-mounts p onto itself read-only (after pivot_root).
func readonlyPath(p string) error {
	err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, "")
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bind %s: %w", p, err)
	}
	return remountReadonly(p)
}

// mountCgroupFS mounts the cgroup file system the config asks for, after the
// init has entered its cgroup namespace, so that the container sees its own
// cgroup as the root. On a hybrid or v2 host that is the unified hierarchy.
func mountCgroupFS(m MountOp, version string) error {
	if version == "v1" {
		return fmt.Errorf("mount %s: a cgroup mount on a v1-only host is not supported", m.Dest)
	}
	if err := os.MkdirAll(m.Dest, 0o755); err != nil && !errors.Is(err, unix.EROFS) {
		return fmt.Errorf("mount %s: %w", m.Dest, err)
	}
	if err := unix.Mount("cgroup2", m.Dest, "cgroup2", m.Flags, ""); err != nil {
		return fmt.Errorf("mount cgroup2 on %s: %w", m.Dest, err)
	}
	return nil
}

// writeSysctl sets one kernel parameter through the container's fresh /proc.
func writeSysctl(k Sysctl) error {
	path := "/proc/sys/" + strings.ReplaceAll(k.Key, ".", "/")
	if err := os.WriteFile(path, []byte(k.Value), 0); err != nil {
		return fmt.Errorf("sysctl %s=%q: %w", k.Key, k.Value, err)
	}
	return nil
}

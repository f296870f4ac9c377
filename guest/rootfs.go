package guest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// RootfsRecipeVersion is part of the rootfs key; bump it when the layout
// below changes.
const RootfsRecipeVersion = "1"

// DefaultBusybox is the static busybox of Debian's busybox-static package.
const DefaultBusybox = "/bin/busybox"

// EntryKind is the type of one entry of the root tree.
type EntryKind int

const (
	KindDir EntryKind = iota
	KindFile
	KindSymlink
	KindCharDev
)

// Entry is one file of the guest's root tree. The tree is described once,
// as a list, and realised twice from the same list: as a directory (the
// container's root) and as a newc cpio archive (the VM's initramfs). So the
// two worlds see the same files by construction.
type Entry struct {
	Path         string // relative to the root, no leading slash: "bin/sh"
	Kind         EntryKind
	Mode         os.FileMode // permission bits (and sticky)
	Source       string      // KindFile: host file to copy, or
	Content      []byte      // KindFile: the contents, when Source is empty
	Target       string      // KindSymlink
	Major, Minor uint32      // KindCharDev
}

// dirs of the root tree; /tmp is world-writable with the sticky bit.
var rootDirs = []struct {
	path string
	mode os.FileMode
}{
	{"bin", 0o755}, {"dev", 0o755}, {"etc", 0o755}, {"mnt", 0o755}, {"proc", 0o555},
	{"root", 0o700}, {"sbin", 0o755}, {"sys", 0o555}, {"tmp", 0o1777},
	{"usr", 0o755}, {"usr/bin", 0o755}, {"usr/sbin", 0o755},
}

// RootfsEntries lists the root tree: the probe as /init (the kernel runs
// /init from an initramfs), busybox with a link per applet, the two device
// nodes the kernel and the shell need before devtmpfs is mounted, and the
// mount points (/mnt for a disk: `mount /dev/vda /mnt` is the first thing a
// student types in the VM shell).
func RootfsEntries(probe, busybox string) ([]Entry, error) {
	for _, f := range []string{probe, busybox} {
		if st, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("rootfs: %w", err)
		} else if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("rootfs: %s is not a regular file", f)
		}
	}
	applets, err := busyboxApplets(busybox)
	if err != nil {
		return nil, err
	}

	var es []Entry
	for _, d := range rootDirs {
		es = append(es, Entry{Path: d.path, Kind: KindDir, Mode: d.mode})
	}
	es = append(es,
		Entry{Path: "init", Kind: KindFile, Mode: 0o755, Source: probe},
		Entry{Path: "bin/probe", Kind: KindSymlink, Target: "/init"},
		Entry{Path: "bin/busybox", Kind: KindFile, Mode: 0o755, Source: busybox},
		// The kernel opens /dev/console for PID 1's stdin/out/err before
		// /init runs; without the node the probe's READY line goes nowhere.
		Entry{Path: "dev/console", Kind: KindCharDev, Mode: 0o600, Major: 5, Minor: 1},
		Entry{Path: "dev/null", Kind: KindCharDev, Mode: 0o666, Major: 1, Minor: 3},
		Entry{Path: "etc/passwd", Kind: KindFile, Mode: 0o644, Content: []byte("root:x:0:0:root:/root:/bin/sh\n")},
		Entry{Path: "etc/group", Kind: KindFile, Mode: 0o644, Content: []byte("root:x:0:\n")},
	)
	taken := map[string]bool{}
	for _, e := range es {
		taken[e.Path] = true
	}
	for _, a := range applets {
		if taken[a] || !taken[path.Dir(a)] {
			continue // never shadow our own files; skip odd locations such as /linuxrc
		}
		taken[a] = true
		es = append(es, Entry{Path: a, Kind: KindSymlink, Target: "/bin/busybox"})
	}
	sortEntries(es)
	return es, nil
}

// busyboxApplets asks busybox where each applet belongs ("bin/sh",
// "usr/bin/awk", …).
func busyboxApplets(busybox string) ([]string, error) {
	out, err := exec.Command(busybox, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("rootfs: %s --list-full: %w", busybox, err)
	}
	var as []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimPrefix(strings.TrimSpace(l), "/")
		if l != "" && !strings.Contains(l, "..") {
			as = append(as, l)
		}
	}
	if len(as) == 0 {
		return nil, fmt.Errorf("rootfs: %s lists no applets", busybox)
	}
	return as, nil
}

// sortEntries puts every directory before what it contains and makes the
// order independent of how the list was built, so archives are identical.
func sortEntries(es []Entry) {
	sort.SliceStable(es, func(i, j int) bool {
		di, dj := strings.Count(es[i].Path, "/"), strings.Count(es[j].Path, "/")
		if (es[i].Kind == KindDir) != (es[j].Kind == KindDir) {
			return es[i].Kind == KindDir
		}
		if di != dj && es[i].Kind == KindDir {
			return di < dj
		}
		return es[i].Path < es[j].Path
	})
}

// RootfsKey hashes the entries and the contents of their files: the same
// probe and busybox give the same key, and so the same cached tree.
func RootfsKey(es []Entry) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "twinboot rootfs recipe %s\n", RootfsRecipeVersion)
	for _, e := range es {
		fmt.Fprintf(h, "%s %d %o %s %d:%d\n", e.Path, e.Kind, e.Mode, e.Target, e.Major, e.Minor)
		if e.Kind != KindFile {
			continue
		}
		if e.Source == "" {
			h.Write(e.Content)
			continue
		}
		f, err := os.Open(e.Source)
		if err != nil {
			return "", fmt.Errorf("rootfs key: %w", err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("rootfs key: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// WriteTree realises the entries as a directory at dir, which must not
// exist. It builds in dir+".partial" and renames, so a tree that exists is
// complete. Creating device nodes needs root (CAP_MKNOD).
func WriteTree(dir string, es []Entry) error {
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("rootfs %s: %w", dir, os.ErrExist)
	}
	partial := dir + ".partial"
	if err := os.RemoveAll(partial); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	if err := os.Mkdir(partial, 0o755); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	for _, e := range es {
		if err := writeEntry(partial, e); err != nil {
			os.RemoveAll(partial)
			return fmt.Errorf("rootfs /%s: %w", e.Path, err)
		}
	}
	if err := os.Rename(partial, dir); err != nil {
		os.RemoveAll(partial)
		return fmt.Errorf("rootfs: %w", err)
	}
	return nil
}

func writeEntry(root string, e Entry) error {
	p := filepath.Join(root, filepath.FromSlash(e.Path))
	switch e.Kind {
	case KindDir:
		if err := os.Mkdir(p, 0o755); err != nil {
			return err
		}
	case KindFile:
		if e.Source != "" {
			if err := copyFile(e.Source, p); err != nil {
				return err
			}
		} else if err := os.WriteFile(p, e.Content, 0o644); err != nil {
			return err
		}
	case KindSymlink:
		return os.Symlink(e.Target, p)
	case KindCharDev:
		dev := int(unix.Mkdev(e.Major, e.Minor))
		if err := unix.Mknod(p, unix.S_IFCHR|0o600, dev); err != nil {
			if errors.Is(err, unix.EPERM) {
				return fmt.Errorf("mknod needs root: %w", err)
			}
			return fmt.Errorf("mknod: %w", err)
		}
	default:
		return fmt.Errorf("unknown entry kind %d", e.Kind)
	}
	// Set the mode explicitly: the umask must not decide /tmp's sticky bit.
	return os.Chmod(p, fileMode(e.Mode))
}

// fileMode converts plain Unix permission bits (with 01000 for sticky) to
// an os.FileMode that os.Chmod understands.
func fileMode(m os.FileMode) os.FileMode {
	fm := m.Perm()
	if m&0o1000 != 0 {
		fm |= os.ModeSticky
	}
	return fm
}

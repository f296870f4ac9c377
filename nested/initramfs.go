package nested

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/twinboot/twinboot/guest"
)

// initramfsRecipe changes whenever the layout below changes, so that cached
// archives built by an older twinboot are not reused.
const initramfsRecipe = "l1-initramfs-v3"

// initramfsInputs is everything L1's root file system is made of.
type initramfsInputs struct {
	Binary  string // static twinboot: /bin/twinboot and /init
	Init    string // static twinboot-init, beside it in /bin; "" if not built
	VMM     string // static twinboot-vmm, beside it in /bin; "" if not built
	Busybox string // static busybox: a shell for debugging and scripts
	Kernel  Kernel
	Guest   *guest.Artifacts // nil when the guest is not built
	Peers   peerFiles        // QEMU, runc, crun and what they load
}

// key identifies an archive by its inputs' names, sizes and modification
// times: cheap to compute, and any rebuild of an input changes it.
func (in initramfsInputs) key() (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, initramfsRecipe, in.Kernel.Package, in.Kernel.Version)
	files := []string{in.Binary, in.Init, in.VMM, in.Busybox}
	files = append(files, in.Kernel.Modules...)
	// Every peer file by path, size and time: a package upgrade changes them.
	files = append(files, in.Peers.Files...)
	if g := in.Guest; g != nil {
		fmt.Fprintln(h, "guest", g.Key)
		files = append(files, g.BzImage, g.Vmlinux, g.Config, g.Probe, g.Initramfs)
		err := filepath.Walk(g.Rootfs, func(p string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			fmt.Fprintln(h, p, info.Size(), info.ModTime().UnixNano(), info.Mode())
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("hash guest rootfs: %w", err)
		}
	}
	for _, f := range files {
		if f == "" {
			continue
		}
		st, err := os.Stat(f)
		if err != nil {
			return "", fmt.Errorf("initramfs input: %w", err)
		}
		fmt.Fprintln(h, f, st.Size(), st.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// buildInitramfs returns the path of the cached archive for in under dir,
// writing it first if needed. Archives of other inputs are removed once
// they are five minutes old: each is about 60 MB and every rebuild of
// twinboot makes a new one, but a concurrent twinboot may be about to start
// QEMU with a recent one (QEMU reads the whole file when it starts).
func buildInitramfs(dir string, in initramfsInputs) (string, error) {
	key, err := in.key()
	if err != nil {
		return "", err
	}
	// The archive with peers is a variant of its own, pruned only by its
	// kind: runs with and without peers alternate without rebuilding.
	variant := "initramfs-"
	if len(in.Peers.Peers) > 0 {
		variant = "initramfs-peers-"
	}
	dst := filepath.Join(dir, variant+key+".cpio")
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	old, _ := filepath.Glob(filepath.Join(dir, variant+"*.cpio"))
	for _, o := range old {
		if variant == "initramfs-" && strings.HasPrefix(filepath.Base(o), "initramfs-peers-") {
			continue
		}
		if st, err := os.Stat(o); err == nil && time.Since(st.ModTime()) > 5*time.Minute {
			os.Remove(o)
		}
	}
	tmp, err := os.CreateTemp(dir, ".initramfs-*")
	if err != nil {
		return "", fmt.Errorf("build L1 initramfs: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := writeInitramfs(tmp, in); err != nil {
		tmp.Close()
		return "", fmt.Errorf("build L1 initramfs: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("build L1 initramfs: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("build L1 initramfs: %w", err)
	}
	return dst, nil
}

// busyboxApplets get a link in /bin: enough to poke around L1 by hand.
var busyboxApplets = []string{"sh", "ls", "cat", "dmesg", "mount", "ps", "free", "uname", "lsmod"}

func writeInitramfs(w io.Writer, in initramfsInputs) error {
	c := guest.NewArchive(w)
	for _, d := range baseDirs {
		c.Dir(d)
	}
	// The kernel opens /dev/console for init's stdin, stdout and stderr
	// before anything could mount devtmpfs.
	c.CharDev("/dev/console", 0o600, 5, 1)
	c.File(l1Twinboot, 0o755, in.Binary)
	c.Symlink("/init", l1Twinboot)
	if in.Init != "" {
		// The container runtime starts its init from beside the twinboot
		// executable; without it, it re-executes all of twinboot instead.
		c.File(l1CtInit, 0o755, in.Init)
	}
	if in.VMM != "" {
		// Each VM runs in a VMM process of its own, started from beside
		// the twinboot executable.
		c.File(l1VMM, 0o755, in.VMM)
	}
	c.File(l1Busybox, 0o755, in.Busybox)
	for _, a := range busyboxApplets {
		c.Symlink("/bin/"+a, "busybox")
	}
	for i, m := range in.Kernel.Modules {
		c.File(fmt.Sprintf("%s/%02d-%s", l1ModuleDir, i, filepath.Base(m)), 0o644, m)
	}
	addPeers(c, in.Peers)
	if g := in.Guest; g != nil {
		l1g, err := addGuest(c, *g)
		if err != nil {
			return err
		}
		b, err := json.MarshalIndent(l1g, "", "  ")
		if err != nil {
			return err
		}
		c.Bytes(path.Join(l1Build, "guest", guest.ManifestName), 0o644, append(b, '\n'))
	}
	return c.Close()
}

// baseDirs are the directories writeInitramfs always creates.
var baseDirs = []string{"/bin", "/sbin", "/dev", "/proc", "/sys", "/tmp", "/run", "/root", "/etc", "/lib", "/lib/modules", l1ModuleDir, l1Build, l1Extra}

// addPeers copies the peers' files to their host paths, symlinks resolved
// (the loader and QEMU open them by those names), and records what was
// copied in /etc/twinboot-peers.json.
func addPeers(c *guest.Archive, pf peerFiles) {
	if len(pf.Peers) == 0 {
		return
	}
	have := map[string]bool{}
	for _, d := range baseDirs {
		have[d] = true
	}
	for _, d := range parentDirs(pf.Files, have) {
		c.Dir(d)
	}
	for _, f := range pf.Files {
		perm := uint32(0o644)
		if st, err := os.Stat(f); err == nil {
			perm = uint32(st.Mode().Perm())
		}
		c.File(f, perm, f)
	}
	b, err := json.MarshalIndent(pf.Peers, "", "  ")
	if err != nil {
		c.Fail(err)
		return
	}
	c.Bytes(l1PeersManifest, 0o644, append(b, '\n'))
}

// addGuest copies the guest artefacts under /build/guest and returns their
// manifest with L1 paths.
func addGuest(c *guest.Archive, g guest.Artifacts) (guest.Artifacts, error) {
	dir := path.Join(l1Build, "guest")
	c.Dir(dir)
	l1 := g
	for _, f := range []struct {
		src  string
		dst  *string
		name string
		perm uint32
	}{
		{g.BzImage, &l1.BzImage, "bzImage", 0o644},
		{g.Vmlinux, &l1.Vmlinux, "vmlinux", 0o644},
		{g.Config, &l1.Config, "config", 0o644},
		{g.Probe, &l1.Probe, "probe", 0o755},
		{g.Initramfs, &l1.Initramfs, "initramfs" + ext(g.Initramfs), 0o644},
	} {
		if f.src == "" {
			continue
		}
		*f.dst = path.Join(dir, f.name)
		c.File(*f.dst, f.perm, f.src)
	}
	if g.Rootfs != "" {
		l1.Rootfs = path.Join(dir, "rootfs")
		c.Tree(l1.Rootfs, g.Rootfs)
	}
	return l1, c.Err()
}

func ext(p string) string {
	base := filepath.Base(p)
	if i := strings.IndexByte(base, '.'); i > 0 {
		return base[i:]
	}
	return ""
}

// writeExtras writes a second archive with a run's extra files; the kernel
// unpacks it over the first.
func writeExtras(w io.Writer, files []File) error {
	c := guest.NewArchive(w)
	dirs := map[string]bool{}
	for _, f := range files {
		dst := f.l1Path()
		for d := path.Dir(dst); d != "/" && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	// Parents first: the kernel does not create missing directories.
	var sorted []string
	for d := range dirs {
		sorted = append(sorted, d)
	}
	sortByDepth(sorted)
	for _, d := range sorted {
		c.Dir(d)
	}
	for _, f := range files {
		st, err := os.Stat(f.Src)
		if err != nil {
			return fmt.Errorf("extra file: %w", err)
		}
		if st.IsDir() {
			c.Tree(f.l1Path(), f.Src)
		} else {
			c.File(f.l1Path(), uint32(st.Mode().Perm()), f.Src)
		}
	}
	return c.Close()
}

func sortByDepth(dirs []string) {
	sort.Slice(dirs, func(i, j int) bool {
		di, dj := strings.Count(dirs[i], "/"), strings.Count(dirs[j], "/")
		if di != dj {
			return di < dj
		}
		return dirs[i] < dirs[j]
	})
}

// File is an extra file or directory to put into L1 for one run, such as a
// `go test -c` binary.
type File struct {
	Src string // on the host
	Dst string // absolute path in L1; default /extra/<base name of Src>
}

func (f File) l1Path() string {
	if f.Dst != "" {
		return path.Clean("/" + f.Dst)
	}
	return path.Join(l1Extra, filepath.Base(f.Src))
}

// checkStatic refuses a dynamically linked program: L1 has no C library.
func checkStatic(p, what string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s %s is dynamically linked; L1 has no C library (build with CGO_ENABLED=0)", what, p)
		}
	}
	return nil
}

package nested

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Peer is a program twinboot measures itself against (QEMU, runc, crun),
// copied from the host into L1 so that `bench --peers` in nested mode times
// them on the same emulated machine as our VM and container.
type Peer struct {
	Name    string `json:"name"`              // program name, as compare looks it up
	Path    string `json:"path"`              // on the host, and the same path in L1
	Package string `json:"package"`           // Debian package
	Version string `json:"version,omitempty"` // Debian package version, when dpkg knows it
}

// peerPrograms are the peers with the Debian package each comes from.
var peerPrograms = []struct{ name, pkg string }{
	{"qemu-system-x86_64", DebianQEMU},
	{"runc", "runc"},
	{"crun", "crun"},
}

// qemuFirmware is what QEMU reads when it boots a kernel with -kernel on
// -M microvm (qboot, pvh.bin) or -M pc (SeaBIOS, the option ROMs that load
// a bzImage or a PVH vmlinux, the vAPIC ROM). Found by tracing its opens;
// the rest of /usr/share/qemu (about 100 MB of other machines' firmware)
// stays out of L1.
// Debian's QEMU 7.2 asks for qboot.rom itself on -M microvm,acpi=off (its
// bios-microvm.bin is a symlink to it).
var qemuFirmware = []string{"bios-microvm.bin", "qboot.rom", "bios-256k.bin", "pvh.bin", "linuxboot_dma.bin", "linuxboot.bin", "kvmvapic.bin"}

// qemuFirmwareDirs is Debian's QEMU firmware search path, in its order.
// QEMU finds them relative to its own binary (/usr/bin/../share/qemu), so
// they keep their host paths in L1, as does the binary.
var qemuFirmwareDirs = []string{"/usr/share/qemu", "/usr/share/seabios"}

// peerFiles is what the peers need in L1.
type peerFiles struct {
	Peers []Peer
	// Files are absolute host paths (programs, their shared libraries and
	// dynamic loader, QEMU's firmware); each goes to the same path in L1,
	// where the loader and QEMU look for them.
	Files []string
}

// findPeerFiles collects the installed peers and everything they load.
// A peer that is not installed is left out: compare, inside L1, then
// reports it skipped because it is not installed.
func findPeerFiles(ctx context.Context, note func(string)) peerFiles {
	var pf peerFiles
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			pf.Files = append(pf.Files, p)
		}
	}
	for _, prog := range peerPrograms {
		p, err := exec.LookPath(prog.name)
		if err != nil {
			continue
		}
		libs, err := sharedLibs(ctx, p)
		if err != nil {
			note(fmt.Sprintf("peer %s left out of L1: %v", prog.name, err))
			continue
		}
		add(p)
		for _, l := range libs {
			add(l)
		}
		if prog.pkg == DebianQEMU {
			for _, fw := range qemuFirmware {
				for _, d := range qemuFirmwareDirs {
					if st, err := os.Stat(filepath.Join(d, fw)); err == nil && st.Mode().IsRegular() {
						add(filepath.Join(d, fw))
						break
					}
				}
			}
		}
		pf.Peers = append(pf.Peers, Peer{Name: prog.name, Path: p, Package: prog.pkg, Version: debVersion(ctx, prog.pkg)})
	}
	return pf
}

// sharedLibs asks ldd which libraries p loads, the dynamic loader included,
// as absolute paths. A static program needs none.
func sharedLibs(ctx context.Context, p string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ldd", p)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if bytes.Contains(out, []byte("not a dynamic executable")) || bytes.Contains(stderr.Bytes(), []byte("not a dynamic executable")) {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %v: %s", p, err, strings.TrimSpace(stderr.String()))
	}
	return parseLdd(out)
}

// parseLdd reads ldd's output: "libc.so.6 => /lib/.../libc.so.6 (0x…)" for
// a library, "/lib64/ld-linux-x86-64.so.2 (0x…)" for the loader and
// "linux-vdso.so.1 (0x…)" for the kernel's vDSO, which has no file.
func parseLdd(out []byte) ([]string, error) {
	var libs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.Contains(line, "statically linked") {
			continue
		}
		if name, rest, ok := strings.Cut(line, " => "); ok {
			f := strings.Fields(rest)
			if len(f) == 0 || f[0] == "not" {
				return nil, fmt.Errorf("library %s not found", name)
			}
			libs = append(libs, f[0])
			continue
		}
		if f := strings.Fields(line); len(f) > 0 && path.IsAbs(f[0]) {
			libs = append(libs, f[0])
		}
	}
	return libs, nil
}

// debVersion is the installed version of a Debian package, or "".
func debVersion(ctx context.Context, pkg string) string {
	out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${Version}", pkg).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// parentDirs lists every directory above files, parents first, leaving out
// those in have: the kernel's unpacker creates no missing directory.
func parentDirs(files []string, have map[string]bool) []string {
	dirs := map[string]bool{}
	for _, f := range files {
		for d := path.Dir(f); d != "/" && !dirs[d] && !have[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var sorted []string
	for d := range dirs {
		sorted = append(sorted, d)
	}
	sortByDepth(sorted)
	return sorted
}

// Paths in L1 of the files this part adds.
const (
	// ctInitName is container.InitBinaryName, written out so that nested
	// does not link the container runtime for one name.
	ctInitName = "twinboot-init"
	// l1CtInit is the container init beside l1Twinboot, where the runtime
	// looks for it.
	l1CtInit = "/bin/" + ctInitName
	// vmmName is vmm.BinaryName, the VMM process that runs each VM: in L1
	// too beside l1Twinboot, where package hypervisor/vmm looks for it.
	vmmName = "twinboot-vmm"
	l1VMM   = "/bin/" + vmmName
	// vmmEnv is vmm.BinaryEnv, which names the VMM binary.
	vmmEnv = "TWINBOOT_VMM"
	// l1PeersManifest lists the peers copied from the host, with versions.
	l1PeersManifest = "/etc/twinboot-peers.json"
)

package nested

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Kernel is L1's kernel: Debian's generic kernel and the modules that turn an
// emulated AMD CPU into a /dev/kvm.
type Kernel struct {
	Package string `json:"package"` // e.g. linux-image-6.1.0-56-amd64
	Version string `json:"version"` // Debian version, e.g. 6.1.192-2
	Release string `json:"release"` // uname -r, e.g. 6.1.0-56-amd64
	Image   string `json:"image"`   // absolute path of vmlinuz
	// Vmlinux is the ELF inside Image, with its PVH note, or "" when it
	// could not be extracted. L1 boots it when present (see pvh.go).
	Vmlinux string   `json:"vmlinux,omitempty"`
	Modules []string `json:"modules"` // absolute paths, in load order
}

// l1Modules is the load order: kvm needs irqbypass, kvm-amd needs kvm and
// ccp (the AMD secure processor driver, for SEV). overlay (no dependencies)
// gives containers in L1 their writable layer over the read-only rootfs;
// tun (no dependencies) gives tests the TAP devices a VM's NIC plugs into;
// llc, stp (which needs llc), bridge (which needs both) and veth (no
// dependencies) give the lab network (package network) its bridge and the
// containers' veth pairs. Loading them by hand keeps modprobe, depmod and
// the rest of the module tree out of L1.
var l1Modules = []string{"irqbypass", "kvm", "ccp", "kvm-amd", "overlay", "tun", "llc", "stp", "bridge", "veth"}

// optionalModules may fail to load without failing L1: without overlay only
// writable containers fail, without tun only NICs, without the others only
// the lab network, and they say why (network names the missing module).
var optionalModules = map[string]bool{"overlay": true, "tun": true, "llc": true, "stp": true, "bridge": true, "veth": true}

// metaPackage is Debian's "current generic kernel" package. Its single
// dependency names the real package, whose ABI number changes with security
// updates; that is why it is resolved, never written down.
const metaPackage = "linux-image-amd64"

const kernelManifest = "kernel.json"

// ErrNoKernel means L1's kernel could not be resolved or fetched.
var ErrNoKernel = errors.New("no L1 kernel")

// ResolveKernel asks apt which linux-image package linux-image-amd64 stands
// for and which version of it apt would fetch.
func ResolveKernel(ctx context.Context) (pkg, version string, err error) {
	return resolveKernel(ctx, "")
}

// resolved is the last answer of ResolveKernel, kept because apt-cache takes
// seconds on a busy machine. It is valid while apt's package lists and
// cache are the ones it was computed from (apt-get update changes them).
type resolved struct {
	Stamp   string `json:"stamp"`
	Package string `json:"package"`
	Version string `json:"version"`
}

func aptStamp() string {
	var parts []string
	for _, p := range []string{"/var/lib/apt/lists", "/var/cache/apt/pkgcache.bin", "/etc/apt/sources.list", "/etc/apt/sources.list.d"} {
		if st, err := os.Stat(p); err == nil {
			parts = append(parts, fmt.Sprintf("%s@%d", p, st.ModTime().UnixNano()))
		}
	}
	return strings.Join(parts, ",")
}

// resolveKernel is ResolveKernel with the answer cached in cacheFile.
func resolveKernel(ctx context.Context, cacheFile string) (pkg, version string, err error) {
	stamp := aptStamp()
	if cacheFile != "" {
		var r resolved
		if b, err := os.ReadFile(cacheFile); err == nil && json.Unmarshal(b, &r) == nil && r.Stamp == stamp && r.Package != "" {
			return r.Package, r.Version, nil
		}
	}
	pkg, version, err = askApt(ctx)
	if err == nil && cacheFile != "" {
		b, _ := json.Marshal(resolved{Stamp: stamp, Package: pkg, Version: version})
		tmp := cacheFile + ".tmp" + strconv.Itoa(os.Getpid())
		if os.WriteFile(tmp, b, 0o644) == nil {
			os.Rename(tmp, cacheFile)
		}
	}
	return pkg, version, err
}

func askApt(ctx context.Context) (pkg, version string, err error) {
	out, err := exec.CommandContext(ctx, "apt-cache", "depends", metaPackage).Output()
	if err != nil {
		return "", "", fmt.Errorf("%w: apt-cache depends %s: %v%s", ErrNoKernel, metaPackage, err, stderrOf(err))
	}
	pkg, err = parseDepends(out)
	if err != nil {
		return "", "", err
	}
	out, err = exec.CommandContext(ctx, "apt-cache", "show", "--no-all-versions", pkg).Output()
	if err != nil {
		return "", "", fmt.Errorf("%w: apt-cache show %s: %v%s", ErrNoKernel, pkg, err, stderrOf(err))
	}
	version, err = parseField(out, "Version")
	if err != nil {
		return "", "", fmt.Errorf("%w: apt-cache show %s: %v", ErrNoKernel, pkg, err)
	}
	return pkg, version, nil
}

// parseDepends picks the linux-image-* dependency out of `apt-cache depends`.
func parseDepends(out []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(strings.TrimLeft(sc.Text(), " |"))
		if len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("%w: %s depends on no linux-image package (apt-cache said %q)", ErrNoKernel, metaPackage, strings.TrimSpace(string(out)))
}

func parseField(out []byte, name string) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+": "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("no %s field", name)
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return ": " + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}

// FetchKernel returns L1's kernel from the cache under buildDir/nested, and
// fills the cache first when needed: `apt-get download` of the resolved
// package, then its data archive is read through `dpkg-deb --fsys-tarfile`
// (what `dpkg -x` does) keeping only vmlinuz and the four modules.
//
// Without apt (or offline) a kernel already in the cache is used.
func FetchKernel(ctx context.Context, buildDir string, progress func(string)) (Kernel, error) {
	root := filepath.Join(buildDir, "nested")
	os.MkdirAll(root, 0o755)
	pkg, version, err := resolveKernel(ctx, filepath.Join(root, "resolved.json"))
	if err != nil {
		if k, cerr := newestCachedKernel(root); cerr == nil {
			return k, nil
		}
		return Kernel{}, err
	}
	dir := filepath.Join(root, cacheKey(pkg, version))
	if k, err := loadKernel(dir); err == nil {
		if missing := missingModules(k); len(missing) > 0 {
			// A cache filled by an older twinboot, before a module joined
			// l1Modules: add the missing ones beside the others.
			if progress != nil {
				progress(fmt.Sprintf("adding modules %s to the cached %s with apt-get download", strings.Join(missing, ", "), pkg))
			}
			if k, err = addModules(ctx, root, dir, pkg, version); err != nil {
				return Kernel{}, err
			}
		}
		return withVmlinux(ctx, dir, k, progress), nil
	}
	if progress != nil {
		progress(fmt.Sprintf("fetching %s %s with apt-get download", pkg, version))
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return Kernel{}, fmt.Errorf("fetch L1 kernel: %w", err)
	}
	tmp, err := os.MkdirTemp(root, ".fetch-")
	if err != nil {
		return Kernel{}, fmt.Errorf("fetch L1 kernel: %w", err)
	}
	defer os.RemoveAll(tmp)
	if _, err := unpackKernel(ctx, tmp, pkg, version); err != nil {
		return Kernel{}, err
	}
	// Publish atomically: parallel test processes may fetch at the same time.
	if err := os.Rename(filepath.Join(tmp, "kernel"), dir); err != nil {
		if _, lerr := loadKernel(dir); lerr != nil {
			return Kernel{}, fmt.Errorf("fetch L1 kernel: %w", err)
		}
	}
	k, err := loadKernel(dir)
	if err != nil {
		return Kernel{}, err
	}
	return withVmlinux(ctx, dir, k, progress), nil
}

// withVmlinux adds the extracted ELF kernel to a cached kernel, extracting
// it on first use. Failing that, L1 boots the bzImage, only more slowly.
func withVmlinux(ctx context.Context, dir string, k Kernel, progress func(string)) Kernel {
	p := filepath.Join(dir, "vmlinux")
	if _, err := os.Stat(p); err != nil {
		if err := extractVmlinux(ctx, k.Image, p); err != nil {
			if progress != nil {
				progress(fmt.Sprintf("booting the compressed kernel (slower under emulation): %v", err))
			}
			return k
		}
	}
	k.Vmlinux = p
	return k
}

// missingModules lists the l1Modules a cached kernel lacks.
func missingModules(k Kernel) []string {
	have := map[string]bool{}
	for _, m := range k.Modules {
		have[strings.TrimSuffix(filepath.Base(m), ".ko")] = true
	}
	var missing []string
	for _, m := range l1Modules {
		if !have[m] {
			missing = append(missing, m)
		}
	}
	return missing
}

// addModules fetches the package again and moves the modules the cache in
// dir lacks into it, then replaces its manifest. Files already there are
// left alone: a running L1 may be booting from them.
func addModules(ctx context.Context, root, dir, pkg, version string) (Kernel, error) {
	tmp, err := os.MkdirTemp(root, ".fetch-")
	if err != nil {
		return Kernel{}, fmt.Errorf("fetch L1 modules: %w", err)
	}
	defer os.RemoveAll(tmp)
	fresh, err := unpackKernel(ctx, tmp, pkg, version)
	if err != nil {
		return Kernel{}, err
	}
	for _, m := range fresh.Modules {
		dst := filepath.Join(dir, m)
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		if err := os.Rename(filepath.Join(tmp, "kernel", m), dst); err != nil {
			return Kernel{}, fmt.Errorf("fetch L1 modules: %w", err)
		}
	}
	// The manifest last, atomically: a reader sees the old or the new one.
	src := filepath.Join(tmp, "kernel", kernelManifest)
	if err := os.Rename(src, filepath.Join(dir, kernelManifest)); err != nil {
		return Kernel{}, fmt.Errorf("fetch L1 modules: %w", err)
	}
	return loadKernel(dir)
}

func cacheKey(pkg, version string) string {
	return strings.NewReplacer(":", "_", "/", "_", "~", "_").Replace(pkg + "_" + version)
}

func unpackKernel(ctx context.Context, tmp, pkg, version string) (Kernel, error) {
	dl := exec.CommandContext(ctx, "apt-get", "download", "-q", pkg+"="+version)
	dl.Dir = tmp
	if out, err := dl.CombinedOutput(); err != nil {
		return Kernel{}, fmt.Errorf("%w: apt-get download %s=%s: %v: %s", ErrNoKernel, pkg, version, err, strings.TrimSpace(string(out)))
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, pkg+"_*.deb"))
	if len(debs) != 1 {
		return Kernel{}, fmt.Errorf("%w: apt-get download left %d .deb files for %s", ErrNoKernel, len(debs), pkg)
	}
	release := strings.TrimPrefix(pkg, "linux-image-")
	out := filepath.Join(tmp, "kernel")
	if err := os.Mkdir(out, 0o755); err != nil {
		return Kernel{}, err
	}
	k := Kernel{Package: pkg, Version: version, Release: release}
	found, err := extractDeb(ctx, debs[0], out, release)
	if err != nil {
		return Kernel{}, err
	}
	k.Image = found["vmlinuz"]
	if k.Image == "" {
		return Kernel{}, fmt.Errorf("%w: %s holds no boot/vmlinuz-%s", ErrNoKernel, debs[0], release)
	}
	for _, m := range l1Modules {
		p := found[m]
		if p == "" {
			return Kernel{}, fmt.Errorf("%w: %s holds no module %s.ko", ErrNoKernel, debs[0], m)
		}
		k.Modules = append(k.Modules, p)
	}
	// Store paths relative to the cache directory; loadKernel makes them
	// absolute again, wherever build/ has moved.
	k.Image = filepath.Base(k.Image)
	for i, m := range k.Modules {
		k.Modules[i] = filepath.Base(m)
	}
	b, _ := json.MarshalIndent(k, "", "  ")
	if err := os.WriteFile(filepath.Join(out, kernelManifest), append(b, '\n'), 0o644); err != nil {
		return Kernel{}, err
	}
	return k, nil
}

// extractDeb streams the package's data archive and writes vmlinuz and the
// wanted modules (decompressed) into dir. It returns their paths by name.
func extractDeb(ctx context.Context, deb, dir, release string) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: dpkg-deb: %v", ErrNoKernel, err)
	}
	found := map[string]string{}
	tr := tar.NewReader(pipe)
	var terr error
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			terr = err
			break
		}
		name := path.Clean("/" + h.Name)
		key := ""
		switch {
		case name == "/boot/vmlinuz-"+release:
			key = "vmlinuz"
		case strings.HasPrefix(name, "/lib/modules/"+release+"/"):
			base := path.Base(name)
			for _, m := range l1Modules {
				for _, ext := range []string{".ko", ".ko.xz"} {
					if base == m+ext {
						key = m
					}
				}
			}
		}
		if key == "" || h.Typeflag != tar.TypeReg {
			continue
		}
		dst := filepath.Join(dir, path.Base(name))
		if err := writeFileFrom(dst, tr); err != nil {
			terr = err
			break
		}
		if strings.HasSuffix(dst, ".xz") {
			if dst, err = unxz(ctx, dst); err != nil {
				terr = err
				break
			}
		}
		found[key] = dst
	}
	// Drain so dpkg-deb does not die of SIGPIPE before it can report errors.
	io.Copy(io.Discard, pipe)
	if err := cmd.Wait(); err != nil && terr == nil {
		terr = fmt.Errorf("dpkg-deb --fsys-tarfile %s: %v: %s", deb, err, strings.TrimSpace(stderr.String()))
	}
	if terr != nil {
		return nil, fmt.Errorf("%w: unpack %s: %v", ErrNoKernel, deb, terr)
	}
	return found, nil
}

func writeFileFrom(dst string, r io.Reader) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// unxz decompresses a module: finit_module could take it compressed only if
// the kernel was built with module decompression, so L1 gets plain .ko files.
func unxz(ctx context.Context, src string) (string, error) {
	dst := strings.TrimSuffix(src, ".xz")
	f, err := os.Create(dst)
	if err != nil {
		return "", err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, "xz", "-dc", src)
	cmd.Stdout = f
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("xz -dc %s: %v: %s", src, err, out)
	}
	return dst, os.Remove(src)
}

func loadKernel(dir string) (Kernel, error) {
	b, err := os.ReadFile(filepath.Join(dir, kernelManifest))
	if err != nil {
		return Kernel{}, err
	}
	var k Kernel
	if err := json.Unmarshal(b, &k); err != nil {
		return Kernel{}, fmt.Errorf("%s: %w", filepath.Join(dir, kernelManifest), err)
	}
	k.Image = filepath.Join(dir, k.Image)
	for i, m := range k.Modules {
		k.Modules[i] = filepath.Join(dir, m)
	}
	for _, p := range append([]string{k.Image}, k.Modules...) {
		if _, err := os.Stat(p); err != nil {
			return Kernel{}, err
		}
	}
	return k, nil
}

func newestCachedKernel(root string) (Kernel, error) {
	manifests, _ := filepath.Glob(filepath.Join(root, "*", kernelManifest))
	sort.Slice(manifests, func(i, j int) bool {
		a, _ := os.Stat(manifests[i])
		b, _ := os.Stat(manifests[j])
		return a != nil && b != nil && a.ModTime().After(b.ModTime())
	})
	for _, m := range manifests {
		if k, err := loadKernel(filepath.Dir(m)); err == nil {
			return k, nil
		}
	}
	return Kernel{}, fmt.Errorf("%w: nothing cached under %s", ErrNoKernel, root)
}

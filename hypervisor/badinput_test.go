//go:build linux && amd64

package hypervisor

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/internal/testutil"
)

// Each bad input must give a clear error that a caller can branch on, and
// leave nothing behind: no KVM file descriptor, no guest RAM mapping.
func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rnd := make([]byte, 64<<10)
	rand.New(rand.NewSource(1)).Read(rnd)
	good := file("bzImage", validBzImage())
	bigInitrd := filepath.Join(dir, "big-initrd")
	if err := os.WriteFile(bigInitrd, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(bigInitrd, 40<<20); err != nil { // sparse: costs no disk
		t.Fatal(err)
	}
	const mem = 36 << 20 // an unusual size, to find a leaked mapping by
	for _, tc := range []struct {
		name string
		cfg  Config
		want error
	}{
		{"missing kernel", Config{Kernel: filepath.Join(dir, "nope")}, ErrNoKernel},
		{"no kernel path", Config{}, ErrNoKernel},
		{"random bytes", Config{Kernel: file("random", rnd)}, ErrNotKernel},
		{"text file", Config{Kernel: file("text", []byte(strings.Repeat("this is not a kernel\n", 100)))}, ErrNotKernel},
		{"empty file", Config{Kernel: file("empty", nil)}, ErrNotKernel},
		{"truncated bzImage", Config{Kernel: file("trunc", validBzImage()[:0x500])}, ErrNotKernel},
		{"bzImage header only", Config{Kernel: file("hdr", validBzImage()[:0x250])}, ErrNotKernel},
		{"32-bit-only bzImage", Config{Kernel: file("bz32", craftBzImage(bzOpts{}))}, Err32BitKernel},
		{"old boot protocol", Config{Kernel: file("old", craftBzImage(bzOpts{version: 0x0204, xloadflags: xlfKernel64}))}, ErrOldProtocol},
		{"32-bit ELF", Config{Kernel: file("elf32", craftPVH(elfOpts{class32: true}))}, Err32BitKernel},
		{"ELF without PVH note", Config{Kernel: file("elfnonote", craftPVH(elfOpts{noNote: true}))}, ErrNotKernel},
		{"RAM below minimum", Config{Kernel: good, MemBytes: MinMem - 1<<20}, ErrMemTooSmall},
		{"RAM above maximum", Config{Kernel: good, MemBytes: MaxMem + 1<<20}, ErrMemTooLarge},
		{"kernel larger than RAM", Config{Kernel: file("hungry", craftBzImage(bzOpts{xloadflags: xlfKernel64, initSize: 64 << 20}))}, ErrMemTooSmall},
		{"initrd too large", Config{Kernel: good, Initrd: bigInitrd}, ErrInitrdTooLarge},
		{"missing initrd", Config{Kernel: good, Initrd: filepath.Join(dir, "nope.cpio")}, ErrNoInitrd},
		{"command line too long", Config{Kernel: good, Cmdline: strings.Repeat("x", 4000)}, ErrCmdlineTooLong},
		{"too many vCPUs", Config{Kernel: good, CPUs: MaxCPUs + 1}, ErrBadCPUs},
		{"negative vCPUs", Config{Kernel: good, CPUs: -1}, ErrBadCPUs},
		{"no KVM device", Config{Kernel: good, Device: filepath.Join(dir, "no-kvm")}, ErrNoKVM},
		{"not a KVM device", Config{Kernel: good, Device: "/dev/null"}, ErrKVMAPI},
		{"missing disk image", Config{Kernel: good, Disks: []Disk{{Path: file("disk", make([]byte, 4096))}, {Path: filepath.Join(dir, "nope.img")}}}, ErrNoDisk},
		{"disk image smaller than a sector", Config{Kernel: good, Disks: []Disk{{Path: file("tiny.img", []byte("x"))}}}, ErrNoDisk},
		{"disk without a path", Config{Kernel: good, Disks: []Disk{{}}}, ErrNoDisk},
		{"too many disks", Config{Kernel: good, Disks: make([]Disk, len(virtioIRQs)+1)}, ErrTooManyDevices},
		// An interface name no network namespace of ours has: nothing is created.
		{"missing TAP", Config{Kernel: good, NICs: []NIC{{TAP: "tbnope0"}}}, ErrNoTAP},
		{"TAP name too long", Config{Kernel: good, NICs: []NIC{{TAP: strings.Repeat("t", 20)}}}, ErrNoTAP},
		{"NIC without a TAP", Config{Kernel: good, NICs: []NIC{{}}}, ErrNoTAP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cfg.MemBytes == 0 {
				tc.cfg.MemBytes = mem
			}
			fds, files := kvmFDs(t), openUnder(t, dir)
			// Counted before as well as after: an unrelated region of the
			// process (a Go heap span, merged mappings) may happen to have
			// the same size; only a new one is a leak.
			maps := guestMappings(t, tc.cfg.MemBytes)
			vm, err := New(tc.cfg)
			if err == nil {
				vm.Close()
				t.Fatalf("New succeeded, want %v", tc.want)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			t.Logf("error: %v", err)
			if got := kvmFDs(t); got != fds {
				t.Errorf("%d KVM file descriptors open after the error, %d before", got, fds)
			}
			if got := openUnder(t, dir); got != files {
				t.Errorf("%d input files open after the error, %d before", got, files)
			}
			if got := guestMappings(t, tc.cfg.MemBytes); got > maps {
				t.Errorf("a guest RAM mapping of %d bytes is left behind (%d such regions after the error, %d before)", tc.cfg.MemBytes, got, maps)
			}
		})
	}
}

// kvmFDs counts this process's descriptors on /dev/kvm, VMs and vCPUs.
func kvmFDs(t *testing.T) int {
	t.Helper()
	return countFDs(t, func(l string) bool { return strings.Contains(l, "kvm") })
}

// openUnder counts this process's descriptors on files under dir.
func openUnder(t *testing.T, dir string) int {
	t.Helper()
	return countFDs(t, func(l string) bool { return strings.HasPrefix(l, dir+"/") })
}

func countFDs(t *testing.T, match func(link string) bool) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		l, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if match(l) {
			n++
		}
	}
	return n
}

// guestMappings counts mappings shaped like guest RAM of size bytes: the
// RAM plus its two guard pages.
func guestMappings(t *testing.T, size uint64) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		lo, hi, ok := parseRange([]byte(line))
		if ok && (hi-lo == size || hi-lo == size+2*pageSize) {
			n++
		}
	}
	return n
}

const permHelperEnv = "TWINBOOT_HV_PERM_HELPER"

// TestKVMPermission proves the error for a KVM device this process may not
// open. Root bypasses file permissions, so the check runs in a copy of
// this test binary started as the unprivileged user "nobody", against a
// device node only root may open.
func TestKVMPermission(t *testing.T) {
	if elsewhere(t) {
		return
	}
	testutil.Root(t)
	requireKVM(t)
	dir := t.TempDir()
	// t.TempDir makes its directories 0700; nobody must be able to enter
	// them to run the binary.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "hypervisor.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	kernel := filepath.Join(dir, "bzImage")
	if err := os.WriteFile(kernel, validBzImage(), 0o644); err != nil {
		t.Fatal(err)
	}
	// A private copy of the device node, mode 0600, owned by root.
	var st unix.Stat_t
	if err := unix.Stat(DefaultDevice, &st); err != nil {
		t.Fatal(err)
	}
	dev := filepath.Join(dir, "kvm")
	if err := unix.Mknod(dev, unix.S_IFCHR|0o600, int(st.Rdev)); err != nil {
		if st.Mode&0o006 != 0 {
			t.Skipf("cannot make a private device node (%v) and %s is open to everyone", err, DefaultDevice)
		}
		dev = DefaultDevice
	}
	cmd := exec.Command(bin, "-test.run=^TestKVMPermissionHelper$", "-test.v")
	cmd.Env = append(os.Environ(), permHelperEnv+"=1", "HV_KERNEL="+kernel, "HV_DEVICE="+dev)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	t.Logf("as nobody:\n%s", out)
	if err != nil {
		t.Fatalf("helper failed: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: TestKVMPermissionHelper") {
		t.Fatal("helper did not pass")
	}
}

// TestKVMPermissionHelper is the unprivileged half of TestKVMPermission.
func TestKVMPermissionHelper(t *testing.T) {
	if os.Getenv(permHelperEnv) != "1" {
		t.Skip("runs only as TestKVMPermission's helper")
	}
	if os.Geteuid() == 0 {
		t.Fatal("helper runs as root; the permission check would be bypassed")
	}
	vm, err := New(Config{Kernel: os.Getenv("HV_KERNEL"), MemBytes: MinMem, Device: os.Getenv("HV_DEVICE")})
	if err == nil {
		vm.Close()
		t.Fatal("New succeeded as an unprivileged user")
	}
	if !errors.Is(err, ErrKVMPermission) {
		t.Fatalf("err = %v, want ErrKVMPermission", err)
	}
	fmt.Println("error:", err)
	if n := kvmFDs(t); n != 0 {
		t.Errorf("%d KVM descriptors left open", n)
	}
}

// CheckResources takes no zero for a default: an explicit --cpus 0 or a
// negative timeout is an error before anything is opened.
func TestCheckResources(t *testing.T) {
	for _, c := range []struct {
		mem     uint64
		cpus    int
		timeout time.Duration
		want    error
	}{
		{128 << 20, 0, 0, ErrBadCPUs},
		{128 << 20, 1000, 0, ErrBadCPUs},
		{0, 1, 0, ErrMemTooSmall},
		{128 << 20, 1, -time.Second, ErrBadTimeout},
	} {
		if err := CheckResources(c.mem, c.cpus, c.timeout); !errors.Is(err, c.want) {
			t.Errorf("CheckResources(%d, %d, %v) = %v, want %v", c.mem, c.cpus, c.timeout, err, c.want)
		}
	}
	if err := CheckResources(128<<20, 2, time.Minute); err != nil {
		t.Errorf("a good VM: %v", err)
	}
}

//go:build linux && amd64

package hypervisor_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/testutil"
	"github.com/twinboot/twinboot/nested"
	"github.com/twinboot/twinboot/nested/nestedtest"
)

// Where the disk images travel in L1: mke2fs runs on the host, L1 has none.
const l1Images = "/extra/virtio-images"

// The lab network's addresses for this test: the TAP's end and the guest's,
// in a network namespace the test creates and nothing else uses.
const (
	testTAP     = "tbtest0"
	tapAddr     = "10.77.0.1"
	guestAddr   = "10.77.0.2"
	guestIPArg  = "ip=" + guestAddr + "::" + tapAddr + ":255.255.255.0::eth0:off"
	helloOnHost = "hello from the host image"
)

// virtioImages makes two ext4 images holding hello.txt (one to mount
// read-write, one read-only) on the host, with Debian's mke2fs -d (no root,
// no loop device); inside L1 it finds the copies the host carried in.
func virtioImages(t *testing.T) string {
	t.Helper()
	if host.InsideL1() {
		return l1Images
	}
	mke2fs, err := exec.LookPath("mke2fs")
	if err != nil {
		testutil.Missing(t, "mke2fs (Debian's e2fsprogs) to make the disk images: %v", err)
	}
	dir := t.TempDir()
	content := filepath.Join(dir, "content")
	if err := os.Mkdir(content, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(content, "hello.txt"), []byte(helloOnHost+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	imgs := filepath.Join(dir, "images")
	if err := os.Mkdir(imgs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"rw.img", "ro.img"} {
		out, err := exec.Command(mke2fs, "-q", "-F", "-t", "ext4", "-d", content, filepath.Join(imgs, name), "8M").CombinedOutput()
		if err != nil {
			t.Fatalf("mke2fs: %v\n%s", err, out)
		}
	}
	return imgs
}

// TestVirtioDevicesLabKernel boots the lab kernel with two disks (one
// read-only) and a NIC on a TAP, and drives them from the guest's shell as
// a student would: mount the first disk and read the host's file, write a
// file and sync, fail to write to the read-only one, see eth0 and ping the
// TAP's address. Then it checks on the host what the guest did.
func TestVirtioDevicesLabKernel(t *testing.T) {
	imgs := virtioImages(t)
	if nestedtest.RedirectWith(t, nested.File{Src: imgs, Dst: l1Images}) {
		return
	}
	a := testutil.Guest(t)
	rw, ro := filepath.Join(imgs, "rw.img"), filepath.Join(imgs, "ro.img")
	roBefore := fileHash(t, ro)

	script := strings.Join([]string{
		"mkdir -p /mnt/rw /mnt/ro",
		"mount /dev/vda /mnt/rw && cat /mnt/rw/hello.txt",
		"echo written-in-the-guest-$((6*7)) > /mnt/rw/from-guest.txt && sync && umount /mnt/rw && echo RW-DONE",
		"cat /sys/block/vdb/ro",
		"mount /dev/vdb /mnt/ro; cat /mnt/ro/hello.txt",
		"echo no > /mnt/ro/x.txt || echo RO-FILE-$((1+1))-REFUSED",
		"dd if=/dev/zero of=/dev/vdb bs=512 count=1 conv=fsync || echo RO-DEV-$((1+1))-REFUSED",
		"ip link show eth0",
		"ping -c 2 -W 10 " + tapAddr + " && echo PING-$((2+2))-OK",
		"exit 0",
	}, "\n") + "\n"

	var console testutil.Screen
	var res hypervisor.Result
	var runErr error
	fdsBefore := openFDs(t)
	withTAP(t, testTAP, tapAddr, func() {
		vm, err := hypervisor.New(hypervisor.Config{
			Kernel: a.BzImage, Initrd: a.Initramfs, MemBytes: 128 << 20, CPUs: 1,
			Cmdline: "console=ttyS0 quiet reboot=t panic=-1 " + guestIPArg + " twinboot.mode=shell",
			Disks:   []hypervisor.Disk{{Path: rw}, {Path: ro, ReadOnly: true}},
			NICs:    []hypervisor.NIC{{TAP: testTAP}},
			ID:      "virtio-test",
			Console: &console, Input: afterPrompt(&console, script),
			Timeout: 4 * time.Minute, Emulated: host.InsideL1(),
		})
		if err != nil {
			runErr = err
			return
		}
		defer vm.Close()
		res, runErr = vm.Run(context.Background())
	})
	out := console.String()
	if runErr != nil {
		t.Fatalf("run: %v\nconsole:\n%s", runErr, out)
	}
	// Images, TAP, eventfds: every descriptor the VM opened is closed.
	if after := openFDs(t); after > fdsBefore {
		t.Errorf("%d file descriptors open after the VM closed, %d before", after, fdsBefore)
	}
	t.Logf("console:\n%s", out)
	for _, want := range []string{
		"RW-DONE", "RO-FILE-2-REFUSED", "RO-DEV-2-REFUSED", "PING-4-OK",
		"\r\n1\r\n", // /sys/block/vdb/ro
		"eth0:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if strings.Count(out, helloOnHost) < 2 {
		t.Errorf("the host's file was not read from both disks")
	}
	// The write was synced in the guest, so it is in the image now.
	img, err := os.ReadFile(rw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(img, []byte("written-in-the-guest-42")) {
		t.Errorf("the guest's file is not in %s", rw)
	}
	if fileHash(t, ro) != roBefore {
		t.Errorf("the read-only image changed")
	}

	// What the probe saw, and what the devices counted.
	r := res.Report
	if r == nil {
		t.Fatalf("no READY report")
	}
	disks := map[string]report.Disk{}
	for _, d := range r.Disks {
		disks[d.Name] = d
	}
	if d := disks["vda"]; d.SizeBytes != 8<<20 || d.ReadOnly {
		t.Errorf("probe saw vda as %+v, want 8 MiB read-write", d)
	}
	if d := disks["vdb"]; d.SizeBytes != 8<<20 || !d.ReadOnly {
		t.Errorf("probe saw vdb as %+v, want 8 MiB read-only", d)
	}
	var eth0 *report.NIC
	for i := range r.NICs {
		if r.NICs[i].Name == "eth0" {
			eth0 = &r.NICs[i]
		}
	}
	if eth0 == nil || !strings.HasPrefix(eth0.MAC, "02:") || !contains(eth0.Addrs, guestAddr+"/24") {
		t.Errorf("probe saw eth0 as %+v, want a 02: MAC and %s/24", eth0, guestAddr)
	}
	if len(res.Devices) != 3 {
		t.Fatalf("devices %+v, want blk0, blk1, net0", res.Devices)
	}
	for _, d := range res.Devices {
		t.Logf("%s %s (%s) at %#x irq %d: %d MMIO exits (%d notify exits), %d ioeventfd notifies, %d interrupts, %d requests, %d failed, %d flushes, %d B read, %d B written; ioeventfd %v irqfd %v",
			d.Name, d.Kind, d.Backend, d.Addr, d.IRQ, d.MMIOExits, d.NotifyExits, d.Notifies, d.Interrupts, d.Requests, d.Failed, d.Flushes, d.BytesRead, d.BytesWrite, d.IOEventFD, d.IRQFD)
		if d.Broken != "" {
			t.Errorf("%s broke: %s", d.Name, d.Broken)
		}
		if d.Requests == 0 || d.MMIOExits == 0 {
			t.Errorf("%s served %d requests with %d MMIO exits: want some of each", d.Name, d.Requests, d.MMIOExits)
		}
	}
	blk0, blk1, net0 := res.Devices[0], res.Devices[1], res.Devices[2]
	if blk0.Flushes == 0 || blk0.BytesWrite == 0 {
		t.Errorf("blk0: %d flushes, %d bytes written: the guest's sync did not reach the disk", blk0.Flushes, blk0.BytesWrite)
	}
	// The guest's kernel saw VIRTIO_BLK_F_RO and refused the writes itself:
	// none reached the device (a guest that sends one anyway gets an I/O
	// error, which TestBlkReadOnly proves).
	if blk1.BytesWrite != 0 {
		t.Errorf("blk1 (read-only): %d bytes written", blk1.BytesWrite)
	}
	if net0.BytesRead == 0 || net0.BytesWrite == 0 {
		t.Errorf("net0: %d bytes in, %d out: want frames both ways", net0.BytesRead, net0.BytesWrite)
	}
}

// afterPrompt types script once the probe's READY line and the shell's
// first prompt are on the console.
func afterPrompt(s *testutil.Screen, script string) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		defer pw.Close()
		deadline := time.Now().Add(5 * time.Minute)
		for time.Now().Before(deadline) {
			text := s.String()
			if i := strings.Index(text, report.Prefix); i >= 0 && strings.Contains(text[i:], "# ") {
				pw.Write([]byte(script))
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return pr
}

// withTAP runs fn on a thread of its own in a new network namespace that
// holds one TAP device, name, with address addr/24, up. The namespace, the
// TAP and the thread end with fn: the thread is never given back to the Go
// scheduler, so it exits, and the namespace (with its devices) goes with
// it. Nothing touches the network namespace the test started in.
func withTAP(t *testing.T, name, addr string, fn func()) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the namespace
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		if err := makeTAP(name, addr); err != nil {
			errc <- err
			return
		}
		fn()
		errc <- setPersist(name, false)
	}()
	if err := <-errc; err != nil {
		if os.IsNotExist(err) || err == unix.ENODEV {
			testutil.Missing(t, "TAP devices (/dev/net/tun, the tun module): %v", err)
		}
		t.Fatalf("TAP in a new network namespace: %v", err)
	}
}

// makeTAP creates a persistent TAP (so that the VMM can attach to an
// existing device, as it will to the lab network's) and gives it addr/24.
func makeTAP(name, addr string) error {
	if err := setPersist(name, true); err != nil {
		return err
	}
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	ip := net.ParseIP(addr).To4()
	for _, set := range []struct {
		req uint
		val []byte
	}{{unix.SIOCSIFADDR, ip}, {unix.SIOCSIFNETMASK, []byte{255, 255, 255, 0}}} {
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			return err
		}
		if err := ifr.SetInet4Addr(set.val); err != nil {
			return err
		}
		if err := unix.IoctlIfreq(s, set.req, ifr); err != nil {
			return err
		}
	}
	ifr, _ := unix.NewIfreq(name)
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr)
}

// setPersist creates (persist) or removes (!persist) the TAP device name.
func setPersist(name string, persist bool) error {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		return err
	}
	v := 0
	if persist {
		v = 1
	}
	return unix.IoctlSetInt(fd, unix.TUNSETPERSIST, v)
}

func fileHash(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// openFDs counts this process's descriptors. Go's poller keeps two of its
// own once first used (the TAP is the VM's first pollable file): a pipe
// starts it before anything is counted.
func openFDs(t *testing.T) int {
	t.Helper()
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

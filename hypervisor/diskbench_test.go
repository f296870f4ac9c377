//go:build linux && amd64 && diskbench

package hypervisor_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/testutil"
	"github.com/twinboot/twinboot/nested"
	"github.com/twinboot/twinboot/nested/nestedtest"
)

// TestDiskBench is the disk benchmark: the probe's --diskbench (sequential
// 1 MiB reads, 4 KiB random reads with O_DIRECT, sequential 1 MiB writes
// and fdatasync) on the same image, in three worlds, interleaved:
//
//   - our VM: /dev/vda, virtio-blk through our VMM;
//   - QEMU -M microvm,acpi=off with the same kernel and initramfs, the image as
//     -drive if=none,...,format=raw -device virtio-blk-device;
//   - a container of our runtime, reading the image as a file of the host
//     file system (inside its root).
//
// It is a benchmark, so it is behind a build tag (the image travels into
// L1 with the test binary, where an environment variable would not):
//
//	CGO_ENABLED=0 go test -tags diskbench ./hypervisor -run TestDiskBench -v -timeout 30m
//
// (CGO_ENABLED=0, as make sets it: the test binary goes into L1 as it is,
// static; otherwise it is rebuilt there without the diskbench tag.)
//
// On a host without hardware KVM it runs in L1 and every figure is
// emulated: compare the three with each other, never with native ones.
func TestDiskBench(t *testing.T) {
	const imgDir = "/extra/diskbench"
	const size = 32 << 20
	const rounds = 3
	if nestedtest.NeedsL1() {
		dir := t.TempDir()
		img := make([]byte, size)
		r := rand.New(rand.NewPCG(3, 4))
		for i := 0; i < len(img); i += 8 {
			v := r.Uint64()
			for j := 0; j < 8; j++ {
				img[i+j] = byte(v >> (8 * j))
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "bench.img"), img, 0o644); err != nil {
			t.Fatal(err)
		}
		opt := nestedtest.Options(t)
		opt.Peers = true // QEMU
		opt.Extra = []nested.File{{Src: nestedtest.TestBinary(t), Dst: "/extra/test.bin"}, {Src: dir, Dst: imgDir}}
		s := nestedtest.Boot(t, opt)
		res := s.Exec(t, nested.Job{Path: "/extra/test.bin", Args: []string{"-test.run", "^TestDiskBench$", "-test.v", "-test.count=1"},
			Env: []string{"TWINBOOT_REQUIRE=" + os.Getenv("TWINBOOT_REQUIRE")}})
		for _, l := range strings.Split(strings.TrimRight(res.Stdout+res.Stderr, "\n"), "\n") {
			t.Log("L1: " + l)
		}
		if res.Code != 0 || !strings.Contains(res.Stdout, "--- PASS: TestDiskBench") {
			t.Fatalf("the benchmark failed in L1 (exit status %d)", res.Code)
		}
		return
	}
	src := filepath.Join(imgDir, "bench.img")
	if !host.InsideL1() {
		src = filepath.Join(t.TempDir(), "bench.img")
		if err := os.WriteFile(src, bytes.Repeat([]byte("twinboot"), size/8), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a := testutil.Guest(t)
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		testutil.Missing(t, "QEMU for the peer: %v", err)
	}
	work := t.TempDir()
	fresh := func(name string) string {
		p := filepath.Join(work, name)
		b, err := os.ReadFile(src)
		if err == nil {
			err = os.WriteFile(p, b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cmdline := "console=ttyS0 quiet reboot=t panic=-1 i8042.noaux i8042.nokbd twinboot.mode=poweroff twinboot.syscalls=0 twinboot.diskbench=/dev/vda"

	type side struct {
		name  string
		runs  []report.DiskBench
		extra []string
	}
	ours, peer, ct := &side{name: "twinboot VM (virtio-blk, our VMM)"}, &side{name: "QEMU -M microvm (virtio-blk-device)"}, &side{name: "container (file on the host fs)"}
	for round := 0; round < rounds; round++ {
		// Our VMM.
		var console bytes.Buffer
		vm, err := hypervisor.New(hypervisor.Config{
			Kernel: a.BzImage, Initrd: a.Initramfs, MemBytes: 256 << 20, Cmdline: cmdline,
			Disks: []hypervisor.Disk{{Path: fresh("ours.img")}}, Console: &console,
			Timeout: 10 * time.Minute, Emulated: host.InsideL1(),
		})
		if err != nil {
			t.Fatal(err)
		}
		res, err := vm.Run(context.Background())
		vm.Close()
		if err != nil {
			t.Fatalf("our VM: %v\n%s", err, console.String())
		}
		ours.runs = append(ours.runs, benchLine(t, "our VM", console.String()))
		if len(res.Devices) == 1 {
			d := res.Devices[0]
			ours.extra = append(ours.extra, fmt.Sprintf("round %d: %d requests, %d MMIO exits (%.2f per request), %d ioeventfd notifies (%.2f per request), %d interrupts, %.1f KiB per request",
				round, d.Requests, d.MMIOExits, float64(d.MMIOExits)/float64(d.Requests), d.Notifies, float64(d.Notifies)/float64(d.Requests),
				d.Interrupts, float64(d.BytesRead+d.BytesWrite)/1024/float64(d.Requests)))
		}

		// QEMU with the same kernel, initramfs and command line.
		accel := []string{"-accel", "kvm", "-cpu", "host"}
		out, err := exec.Command(qemu, append(accel,
			// acpi=off: our kernel has no ACPI, and only then does QEMU
			// announce its virtio-mmio devices on the command line.
			"-M", "microvm,acpi=off", "-m", "256M", "-smp", "1",
			"-kernel", a.BzImage, "-initrd", a.Initramfs, "-append", cmdline,
			"-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
			"-serial", "stdio", "-no-reboot",
			"-device", fmt.Sprintf("isa-debug-exit,iobase=%#x,iosize=0x04", report.ExitPort),
			"-drive", "if=none,id=d,file="+fresh("qemu.img")+",format=raw",
			"-device", "virtio-blk-device,drive=d")...).CombinedOutput()
		if !bytes.Contains(out, []byte(report.DiskBenchPrefix)) {
			t.Fatalf("QEMU: %v\n%s", err, out)
		}
		peer.runs = append(peer.runs, benchLine(t, "QEMU", string(out)))

		// The container: the probe on the image as a file in its root (a
		// copy of the lab rootfs; the writable overlay takes the writes).
		root := filepath.Join(work, "rootfs")
		if round == 0 {
			cp := []string{"cp", "-a", a.Rootfs, root}
			if _, err := exec.LookPath("cp"); err != nil {
				cp = append([]string{"/bin/busybox"}, cp...) // L1 has busybox only
			}
			if out, err := exec.Command(cp[0], cp[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("copy rootfs: %v %s", err, out)
			}
		}
		if err := os.Rename(fresh("ct.img"), filepath.Join(root, "bench.img")); err != nil {
			t.Fatal(err)
		}
		var stdout bytes.Buffer
		_, err = container.Run(context.Background(), container.Spec{
			Rootfs: root, Args: []string{"/init", "--mode", "exit", "--syscalls", "0", "--diskbench", "/bench.img"},
			Stdout: &stdout, Timeout: 5 * time.Minute, Init: ctInit(),
		})
		if err != nil {
			t.Fatalf("container: %v\n%s", err, stdout.String())
		}
		ct.runs = append(ct.runs, benchLine(t, "container", stdout.String()))
		for _, s := range []*side{ours, peer, ct} {
			d := s.runs[round]
			t.Logf("round %d, %s: read %.1f MB/s, write %.1f MB/s, 4K random p50 %.1f us p99 %.1f us", round, s.name, d.ReadMBps, d.WriteMBps, d.RandP50us, d.RandP99us)
		}
	}
	emulated := ""
	if host.InsideL1() {
		emulated = " (emulated: nested mode, L1 under QEMU TCG)"
	}
	t.Logf("disk benchmark, %d MiB image, %d rounds, medians%s:", size>>20, rounds, emulated)
	t.Logf("  %-38s %12s %12s %14s %14s %8s", "", "seq read", "seq write", "4K rand p50", "4K rand p99", "O_DIRECT")
	for _, s := range []*side{ours, peer, ct} {
		t.Logf("  %-38s %8.1f MB/s %8.1f MB/s %11.1f us %11.1f us %8v", s.name,
			diskMedian(s.runs, func(d report.DiskBench) float64 { return d.ReadMBps }),
			diskMedian(s.runs, func(d report.DiskBench) float64 { return d.WriteMBps }),
			diskMedian(s.runs, func(d report.DiskBench) float64 { return d.RandP50us }),
			diskMedian(s.runs, func(d report.DiskBench) float64 { return d.RandP99us }),
			s.runs[0].Direct)
	}
	for _, e := range ours.extra {
		t.Logf("  our VMM, %s", e)
	}
	ourRead := diskMedian(ours.runs, func(d report.DiskBench) float64 { return d.ReadMBps })
	qemuRead := diskMedian(peer.runs, func(d report.DiskBench) float64 { return d.ReadMBps })
	if ourRead < qemuRead {
		t.Logf("  goal missed: our sequential read %.1f MB/s < QEMU's %.1f MB/s", ourRead, qemuRead)
	}
}

func benchLine(t *testing.T, who, out string) report.DiskBench {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if d, ok := report.ParseDiskBench(sc.Text()); ok {
			if d.Error != "" {
				t.Fatalf("%s: disk benchmark failed: %s", who, d.Error)
			}
			return d
		}
	}
	t.Fatalf("%s printed no %s line:\n%s", who, report.DiskBenchPrefix, out)
	return report.DiskBench{}
}

func diskMedian(runs []report.DiskBench, f func(report.DiskBench) float64) float64 {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	return v[len(v)/2]
}

// ctInit is the container init binary: L1's, or the one `make bin` built.
func ctInit() string {
	for _, p := range []string{"/bin/twinboot-init", filepath.Join(guest.BuildDir(), "bin", "twinboot-init")} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

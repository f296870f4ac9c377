//go:build linux && amd64

package hypervisor_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twinboot/twinboot/internal/host"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/internal/testutil"
	"github.com/twinboot/twinboot/nested/nestedtest"
)

// TestBootLabKernel is the real thing: the lab kernel and initramfs boot to
// the probe's READY line, through both boot protocols, with one and two
// vCPUs. Where /dev/kvm cannot run Linux (kvm_pvm, or none), the whole test
// re-runs itself inside the nested-mode L1 machine, where a hardware-style
// KVM exists; the timings it sees there are emulated.
func TestBootLabKernel(t *testing.T) {
	if nestedtest.Redirect(t) {
		return
	}
	a := testutil.Guest(t)
	hostRelease, hostBootID := hostFacts(t)
	const mem = 128 << 20
	for _, tc := range []struct {
		name     string
		kernel   func(guest.Artifacts) string
		protocol string
		cpus     int
	}{
		{"bzImage", func(a guest.Artifacts) string { return a.BzImage }, "bzImage", 1},
		{"pvh", func(a guest.Artifacts) string { return a.Vmlinux }, "pvh", 1},
		{"bzImage/2cpus", func(a guest.Artifacts) string { return a.BzImage }, "bzImage", 2},
		{"pvh/2cpus", func(a guest.Artifacts) string { return a.Vmlinux }, "pvh", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var console bytes.Buffer
			vm, err := hypervisor.New(hypervisor.Config{
				Kernel: tc.kernel(a), Initrd: a.Initramfs, MemBytes: mem, CPUs: tc.cpus,
				Console: &console, Timeout: 2 * time.Minute, Emulated: host.InsideL1(),
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			t.Cleanup(func() { vm.Close() })
			res, err := vm.Run(context.Background())
			if err != nil {
				t.Fatalf("Run: %v\nconsole:\n%s", err, console.String())
			}
			if res.Reason != hypervisor.ReasonPoweroff || res.Status != 0 || res.Protocol != tc.protocol {
				t.Errorf("reason %s status %d protocol %s, want poweroff 0 %s", res.Reason, res.Status, res.Protocol, tc.protocol)
			}
			r := res.Report
			if r == nil {
				t.Fatalf("no READY report (reason %s: %s); console:\n%s", res.Reason, res.Detail, console.String())
			}
			if r.KernelRelease != a.KernelRelease || r.KernelRelease == hostRelease {
				t.Errorf("guest kernel %q, want the lab kernel %q (host runs %q)", r.KernelRelease, a.KernelRelease, hostRelease)
			}
			if r.BootID == "" || r.BootID == hostBootID {
				t.Errorf("guest boot_id %q, host's is %q: want a different one", r.BootID, hostBootID)
			}
			if r.CPUs != tc.cpus {
				t.Errorf("guest sees %d CPUs, want %d", r.CPUs, tc.cpus)
			}
			// MemTotal is RAM minus what the kernel keeps for itself (its
			// image, page structures): a little under what we configured.
			if r.MemTotalKB == nil || *r.MemTotalKB*1024 > mem || *r.MemTotalKB*1024 < mem*3/4 {
				t.Errorf("guest MemTotal %v KiB, want a little under %d KiB", r.MemTotalKB, mem>>10)
			}
			var names []string
			for _, p := range res.Phases {
				names = append(names, p.Name)
			}
			want := []string{hypervisor.PhaseProcessStart, hypervisor.PhaseVMReady, hypervisor.PhaseKernelLoaded,
				hypervisor.PhaseFirstRun, hypervisor.PhaseFirstSerial, hypervisor.PhaseReady}
			if strings.Join(names, ",") != strings.Join(want, ",") {
				t.Errorf("phases %q, want %q", names, want)
			}
			if res.IOPorts[report.ExitPort] != 1 || res.IOPorts[0x3f8] == 0 || res.Exits["io"] == 0 {
				t.Errorf("exits %v, ports %v: want UART traffic and one exit-port write", res.Exits, res.IOPorts)
			}
			if res.Memory.TouchedBytes == 0 || res.Memory.TouchedBytes >= mem {
				t.Errorf("touched %d bytes of %d: want some, not all", res.Memory.TouchedBytes, mem)
			}
			t.Logf("%s, %d vCPU: READY at %v (emulated=%v), %d exits, touched %.1f MiB, VMM overhead %.1f MiB",
				res.Protocol, tc.cpus, res.Phases[len(res.Phases)-1].At, res.Phases[0].Emulated,
				total(res.Exits), float64(res.Memory.TouchedBytes)/(1<<20), float64(res.Memory.VMMOverheadBytes)/(1<<20))
		})
	}
}

func hostFacts(t *testing.T) (release, bootID string) {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Fatal(err)
	}
	return unix.ByteSliceToString(u.Release[:]), strings.TrimSpace(string(b))
}

func total(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}

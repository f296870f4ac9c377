//go:build linux && amd64

package hypervisor_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/twinboot/twinboot/internal/host"

	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/nested"
	"github.com/twinboot/twinboot/nested/nestedtest"
)

// BenchmarkBootToReady boots the lab kernel to the probe's READY line, once
// per iteration, through each protocol, and reports the median time from
// New to READY. It needs a KVM that runs Linux: hardware KVM, or the
// nested-mode L1 (where BenchmarkNestedBootToReady runs it, and the figure
// is emulated).
//
//	go test -run '^$' -bench BootToReady -benchtime 5x ./hypervisor
func BenchmarkBootToReady(b *testing.B) {
	if nestedtest.NeedsL1() {
		b.Skip("this host's /dev/kvm cannot run Linux (kvm_pvm or none): BenchmarkNestedBootToReady measures in nested mode")
	}
	a, err := guest.Load(guest.BuildDir())
	if err != nil {
		b.Skipf("lab guest: %v", err)
	}
	unit := "ms-to-ready"
	if host.InsideL1() {
		unit = "emulated-ms-to-ready"
	}
	for _, k := range []struct{ name, path string }{{"bzImage", a.BzImage}, {"pvh", a.Vmlinux}} {
		b.Run(k.name, func(b *testing.B) {
			var ready, uptime, touched, overhead []float64
			for i := 0; i < b.N; i++ {
				vm, err := hypervisor.New(hypervisor.Config{
					Kernel: k.path, Initrd: a.Initramfs, MemBytes: hypervisor.DefaultMem,
					Timeout: 2 * time.Minute, Emulated: host.InsideL1(),
				})
				if err != nil {
					b.Fatal(err)
				}
				res, err := vm.Run(context.Background())
				vm.Close()
				if err != nil || res.Report == nil {
					b.Fatalf("run %d: %v (reason %s, no READY: %v)", i, err, res.Reason, res.Report == nil)
				}
				for _, p := range res.Phases {
					if p.Name == hypervisor.PhaseReady {
						ready = append(ready, float64(p.At.Microseconds())/1000)
					}
				}
				if res.Report.UptimeSec != nil {
					uptime = append(uptime, *res.Report.UptimeSec*1000)
				}
				touched = append(touched, float64(res.Memory.TouchedBytes)/(1<<20))
				overhead = append(overhead, float64(res.Memory.VMMOverheadBytes)/(1<<20))
			}
			b.ReportMetric(median(ready), unit)
			// The guest's own clock when the probe started: the kernel's boot
			// (decompression included, for a bzImage) without the VMM's set-up.
			b.ReportMetric(median(uptime), "guest-ms-uptime-at-probe")
			b.ReportMetric(median(touched), "MiB-touched")
			b.ReportMetric(median(overhead), "MiB-vmm-overhead")
		})
	}
}

// BenchmarkNestedBootToReady runs BenchmarkBootToReady inside the nested-mode
// L1 machine (one L1 boot, five runs per protocol) on hosts without
// hardware KVM, and reports its figures, all emulated.
//
//	go test -run '^$' -bench NestedBootToReady -benchtime 1x ./hypervisor
func BenchmarkNestedBootToReady(b *testing.B) {
	if !nestedtest.NeedsL1() {
		b.Skip("hardware KVM here: BenchmarkBootToReady measures natively")
	}
	bin := staticTestBinary(b)
	opt := nestedtest.Options(b)
	opt.Console = nil
	opt.Extra = []nested.File{{Src: bin, Dst: "/extra/test.bin"}}
	ctx := context.Background()
	m, err := nested.Prepare(ctx, opt)
	if err != nil {
		b.Skipf("nested mode: %v", err)
	}
	defer m.Close()
	s, err := m.Boot(ctx)
	if err != nil {
		b.Fatalf("boot L1: %v", err)
	}
	defer s.Close()
	var out bytes.Buffer
	code, err := s.Run(ctx, nested.Job{
		Path:   "/extra/test.bin",
		Args:   []string{"-test.run=^$", "-test.bench=^BenchmarkBootToReady$", "-test.benchtime=5x"},
		Stdout: &out, Stderr: &out,
	})
	b.Logf("inside L1:\n%s", out.String())
	if err != nil || code != 0 {
		b.Fatalf("benchmark in L1: status %d, %v", code, err)
	}
	re := regexp.MustCompile(`BenchmarkBootToReady/(\w+)\S*\s.*\s([\d.]+) emulated-ms-to-ready`)
	for _, mm := range re.FindAllStringSubmatch(out.String(), -1) {
		v, _ := strconv.ParseFloat(mm[2], 64)
		b.ReportMetric(v, "emulated-ms-to-ready-"+mm[1])
	}
	up := regexp.MustCompile(`BenchmarkBootToReady/(\w+)\S*\s.*\s([\d.]+) guest-ms-uptime-at-probe`)
	for _, mm := range up.FindAllStringSubmatch(out.String(), -1) {
		v, _ := strconv.ParseFloat(mm[2], 64)
		b.ReportMetric(v, "guest-ms-uptime-at-probe-"+mm[1])
	}
}

func staticTestBinary(b *testing.B) string {
	b.Helper()
	out := filepath.Join(b.TempDir(), "test.bin")
	cmd := exec.Command("go", "test", "-c", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Skipf("build a static test binary for L1: %v\n%s", err, msg)
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

package nested_test

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/twinboot/twinboot/internal/host"

	"github.com/twinboot/twinboot/nested"
	"github.com/twinboot/twinboot/nested/nestedtest"
)

// BenchmarkL1StartToCommand measures, per L1 boot, the time from starting
// QEMU until a command (twinboot version) has run in L1 and its exit status
// is back. Extra metrics: init-s (L1's init running), ready-s (modules loaded,
// /dev/kvm there) and cmd-s (the command done), all on the host's clock and
// all emulated. ready-cpu-s is QEMU's CPU time until ready: the figure to
// compare on a busy machine, where the wall-clock ones grow with the load.
// Run with -benchtime=3x or so: each boot is seconds long.
//
//	go test -run '^$' -bench L1StartToCommand -benchtime 3x ./nested/
func BenchmarkL1StartToCommand(b *testing.B) {
	if host.InsideL1() {
		b.Skip("already inside L1")
	}
	for _, v := range []struct {
		name string
		set  func(*nested.Options, *nested.Machine)
	}{
		{"cpus=1", func(o *nested.Options, _ *nested.Machine) { o.CPUs = 1 }},
		{"cpus=2", func(o *nested.Options, _ *nested.Machine) { o.CPUs = 2 }},
		// The compressed kernel, as before pvh.go: the decompressor runs
		// under TCG on every boot.
		{"cpus=1,bzImage", func(o *nested.Options, m *nested.Machine) { o.Kernel = m.Kernel.Image }},
		{"cpus=1,qboot", func(o *nested.Options, _ *nested.Machine) { o.BIOS = "/usr/share/qemu/qboot.rom" }},
	} {
		b.Run(v.name, func(b *testing.B) {
			ctx := context.Background()
			opt := nestedtest.Options(b)
			opt.Console, opt.Sink = nil, nil
			probe, err := nested.Prepare(ctx, opt)
			if err != nil {
				b.Fatal(err)
			}
			probe.Close()
			v.set(&opt, probe)
			if opt.BIOS != "" {
				if _, err := os.Stat(opt.BIOS); err != nil {
					b.Skipf("firmware: %v", err)
				}
			}
			m, err := nested.Prepare(ctx, opt)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			var initT, ready, cmd, cpu time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				s, err := m.Boot(ctx)
				if err != nil {
					b.Fatal(err)
				}
				code, err := s.Run(ctx, nested.Job{Args: []string{"version"}, Stdout: io.Discard})
				cmd += time.Since(start)
				initT += s.Times.Init
				ready += s.Times.Ready
				cpu += s.Times.ReadyCPU
				s.Close()
				if err != nil || code != 0 {
					b.Fatalf("version in L1: code %d, %v", code, err)
				}
			}
			n := float64(b.N)
			b.ReportMetric(initT.Seconds()/n, "init-s")
			b.ReportMetric(ready.Seconds()/n, "ready-s")
			b.ReportMetric(cmd.Seconds()/n, "cmd-s")
			b.ReportMetric(cpu.Seconds()/n, "ready-cpu-s")
		})
	}
}

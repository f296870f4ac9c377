//go:build linux && amd64

package hypervisor

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/internal/event"
)

// BenchmarkSetup measures the VMM's own work: from New (open /dev/kvm) to
// the first KVM_RUN, for a crafted kernel and, when built, the lab kernel
// through both protocols. The guest is stopped right after its first
// instruction, so this runs on any KVM, kvm_pvm included.
//
//	go test -run '^$' -bench Setup -benchtime 20x ./hypervisor
func BenchmarkSetup(b *testing.B) {
	requireKVMB(b)
	kernels := map[string]string{}
	crafted := b.TempDir() + "/bzImage"
	if err := os.WriteFile(crafted, validBzImage(), 0o644); err != nil {
		b.Fatal(err)
	}
	kernels["crafted-bzImage"] = crafted
	initrd := ""
	if a, err := guest.Load(guest.BuildDir()); err == nil {
		kernels["lab-bzImage"], kernels["lab-pvh"], initrd = a.BzImage, a.Vmlinux, a.Initramfs
	}
	for _, name := range []string{"crafted-bzImage", "lab-bzImage", "lab-pvh"} {
		kernel, ok := kernels[name]
		if !ok {
			continue
		}
		b.Run(name, func(b *testing.B) {
			var ready, loaded, firstRun time.Duration
			for i := 0; i < b.N; i++ {
				ctx, cancel := context.WithCancel(context.Background())
				var at map[string]time.Duration = map[string]time.Duration{}
				cfg := Config{
					Kernel: kernel, MemBytes: DefaultMem, Start: time.Now(),
					Events: func(ev event.Event) {
						if p, ok := ev.(event.Phase); ok {
							at[p.Name] = p.At
							if p.Name == PhaseFirstRun {
								cancel()
							}
						}
					},
				}
				if name != "crafted-bzImage" {
					cfg.Initrd = initrd
				}
				vm, err := New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				_, err = vm.Run(ctx)
				vm.Close()
				cancel()
				if err != nil && !errors.Is(err, ErrGuestFailed) {
					b.Fatal(err)
				}
				ready += at[PhaseVMReady]
				loaded += at[PhaseKernelLoaded]
				firstRun += at[PhaseFirstRun]
			}
			n := float64(b.N)
			b.ReportMetric(float64(ready.Microseconds())/n/1000, "ms-vm-ready")
			b.ReportMetric(float64(loaded.Microseconds())/n/1000, "ms-kernel-loaded")
			b.ReportMetric(float64(firstRun.Microseconds())/n/1000, "ms-first-run")
		})
	}
}

func requireKVMB(b *testing.B) {
	b.Helper()
	if _, err := os.Stat(DefaultDevice); err != nil {
		b.Skipf("%s: %v", DefaultDevice, err)
	}
}

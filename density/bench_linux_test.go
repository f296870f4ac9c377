package density

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkContainerFleet measures, natively, the time from starting N
// containers at once to the last READY (one density step, after its
// warm-up), for N = 1 and 8: the goal is 8 ≤ 2 × 1. Timings, so a
// benchmark and never a test. Give it the small init, as the twinboot
// binary has beside it (otherwise the test binary is re-executed as the
// init, which is slower to start):
//
//	TWINBOOT_CT_INIT=$PWD/build/bin/twinboot-init go test -run '^$' -bench ContainerFleet -benchtime 5x ./density/
func BenchmarkContainerFleet(b *testing.B) {
	a := needContainersB(b)
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			var sum, mem float64
			for i := 0; i < b.N; i++ {
				res, err := Run(context.Background(), Options{Guest: a, Containers: n, Window: minWindow}, nil)
				if err != nil {
					b.Fatal(err)
				}
				f := res.Steps[0].Container
				sum += float64(f.LastReadyNS)
				mem += float64(f.PerInstanceBytes)
			}
			b.ReportMetric(sum/float64(b.N)/1e6, "ms-to-all-READY")
			b.ReportMetric(mem/float64(b.N)/(1<<20), "MiB/container")
		})
	}
}

package density

import (
	"math"
	"testing"

	"github.com/twinboot/twinboot/internal/event"
)

func TestLeastSquares(t *testing.T) {
	slope, icept, ok := leastSquares([]float64{1, 2, 4}, []float64{3, 5, 9})
	if !ok || math.Abs(slope-2) > 1e-9 || math.Abs(icept-1) > 1e-9 {
		t.Errorf("fit of y = 2x+1: slope %v, intercept %v, ok %v", slope, icept, ok)
	}
	if _, _, ok := leastSquares([]float64{4, 4}, []float64{1, 2}); ok {
		t.Error("a line through one fleet size was fitted")
	}
	if _, _, ok := leastSquares([]float64{1}, []float64{1}); ok {
		t.Error("a line through one point was fitted")
	}
}

// steps builds results whose containers cost base + per·N and whose VMs
// cost per VM what they touched plus overhead.
func stepsFor(ns []int, ctBase, ctPer, vmTouched, vmOver uint64, ready func(n int) int64) []StepResult {
	var out []StepResult
	for i, n := range ns {
		out = append(out, StepResult{
			Index:     i + 1,
			Container: &Fleet{Asked: n, Ready: n, MemoryBytes: ctBase + ctPer*uint64(n), LastReadyNS: ready(n)},
			VM:        &Fleet{Asked: n, Ready: n, MemoryBytes: (vmTouched + vmOver) * uint64(n), TouchedBytes: vmTouched * uint64(n), LastReadyNS: ready(n)},
		})
	}
	return out
}

func TestGoalsJudgedOnTheFit(t *testing.T) {
	flat := func(int) int64 { return 30e6 }
	res := Results{Steps: stepsFor([]int{1, 2, 4, 8}, 3<<20, 900<<10, 30<<20, 4<<20, flat)}
	res.Fit = fitSteps(res.Steps)
	if f := res.Fit[event.Container]; f == nil || math.Abs(f.MarginalBytes-900<<10) > 1 || math.Abs(f.InterceptBytes-3<<20) > 1 {
		t.Fatalf("container fit = %+v", f)
	}
	goals := judge(res)
	for _, g := range goals {
		if g.Met == nil || !*g.Met {
			t.Errorf("goal %q: %+v, want met", g.Name, g)
		}
	}

	slow := func(n int) int64 { return int64(n) * 30e6 }
	res = Results{Steps: stepsFor([]int{1, 2, 4, 8}, 0, 2<<20, 30<<20, 6<<20, slow)}
	res.Fit = fitSteps(res.Steps)
	for _, g := range judge(res) {
		if g.Met == nil || *g.Met {
			t.Errorf("goal %q: %+v, want not met", g.Name, g)
		}
	}

	// One step: nothing to fit, nothing judged as met.
	res = Results{Steps: stepsFor([]int{4}, 0, 1<<20, 30<<20, 1<<20, flat)}
	res.Fit = fitSteps(res.Steps)
	if res.Fit != nil {
		t.Errorf("a fit from one step: %+v", res.Fit)
	}
	for _, g := range judge(res) {
		if g.Met != nil || g.Note == "" {
			t.Errorf("goal %q judged from one step: %+v", g.Name, g)
		}
	}
}

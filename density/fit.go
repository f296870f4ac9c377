package density

import (
	"fmt"

	"github.com/twinboot/twinboot/internal/event"
)

// fitSteps fits, per kind, a least-squares line through the steps' measured
// totals against the number of ready instances: its slope is what one more
// instance costs. A kind needs two different fleet sizes for a line.
func fitSteps(steps []StepResult) map[Kind]*Fit {
	out := map[Kind]*Fit{}
	for _, kind := range []Kind{event.VM, event.Container} {
		var ns, mems, readys []float64
		var touched float64
		var vms int
		for _, s := range steps {
			f := fleetOf(s, kind)
			if f == nil || f.Ready == 0 {
				continue
			}
			ns = append(ns, float64(f.Ready))
			mems = append(mems, float64(f.MemoryBytes))
			readys = append(readys, float64(f.LastReadyNS))
			touched += float64(f.TouchedBytes)
			vms += f.Ready
		}
		slope, icept, ok := leastSquares(ns, mems)
		if !ok {
			continue
		}
		ft := &Fit{Points: len(ns), MarginalBytes: slope, InterceptBytes: icept}
		ft.MarginalReadyNS, _, _ = leastSquares(ns, readys)
		if kind == event.VM && vms > 0 {
			ft.TouchedPerInstanceBytes = touched / float64(vms)
		}
		out[kind] = ft
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// fleetOf is a step's fleet of kind, or nil.
func fleetOf(s StepResult, kind Kind) *Fleet {
	if kind == event.VM {
		return s.VM
	}
	return s.Container
}

// leastSquares fits y = slope·x + intercept; ok is false unless x holds at
// least two different values.
func leastSquares(x, y []float64) (slope, intercept float64, ok bool) {
	n := float64(len(x))
	if len(x) < 2 || len(x) != len(y) {
		return 0, 0, false
	}
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		sxy += x[i] * y[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0, 0, false
	}
	slope = (n*sxy - sx*sy) / d
	return slope, (sy - slope*sx) / n, true
}

// The goals.
const (
	GoalContainerMemory = "marginal memory of one more container"
	GoalVMMemory        = "marginal memory of one more VM"
	GoalContainerReady  = "time to all-READY, 8 containers against 1"
)

// judge measures the run against the goals, saying so when a goal cannot
// be judged from these steps.
func judge(res Results) []Goal {
	var goals []Goal
	ct, vm := res.Fit[event.Container], res.Fit[event.VM]
	g := Goal{Name: GoalContainerMemory, Target: "≤ 1 MiB"}
	if ct != nil {
		g.Measured = mib(ct.MarginalBytes)
		g.Met = boolp(ct.MarginalBytes <= 1<<20)
	} else {
		g.Note = "needs two container fleet sizes (--steps): " + errNotMeasured.Error()
	}
	goals = append(goals, g)

	g = Goal{Name: GoalVMMemory, Target: "≤ touched guest RAM per VM + 5 MiB"}
	if vm != nil {
		limit := vm.TouchedPerInstanceBytes + 5<<20
		g.Target = fmt.Sprintf("≤ %s (touched %s + 5 MiB)", mib(limit), mib(vm.TouchedPerInstanceBytes))
		g.Measured = mib(vm.MarginalBytes)
		g.Met = boolp(vm.MarginalBytes <= limit)
	} else {
		g.Note = "needs two VM fleet sizes (--steps): " + errNotMeasured.Error()
	}
	goals = append(goals, g)

	g = Goal{Name: GoalContainerReady, Target: "≤ 2×"}
	var one, eight int64
	for _, s := range res.Steps {
		if f := s.Container; f != nil && f.Failed == 0 {
			switch f.Asked {
			case 1:
				one = f.LastReadyNS
			case 8:
				eight = f.LastReadyNS
			}
		}
	}
	if one > 0 && eight > 0 {
		r := float64(eight) / float64(one)
		g.Measured = fmt.Sprintf("%.2f× (%s against %s)", r, ms(eight), ms(one))
		g.Met = boolp(r <= 2)
	} else {
		g.Note = "needs container steps of 1 and 8 (e.g. --containers 8 --steps 1,2,4,8): " + errNotMeasured.Error()
	}
	return append(goals, g)
}

func boolp(b bool) *bool { return &b }

// mib formats bytes as MiB with two decimals.
func mib(b float64) string { return fmt.Sprintf("%.2f MiB", b/(1<<20)) }

// ms formats nanoseconds as milliseconds.
func ms(ns int64) string {
	if ns >= 10e9 {
		return fmt.Sprintf("%.1f s", float64(ns)/1e9)
	}
	return fmt.Sprintf("%.1f ms", float64(ns)/1e6)
}

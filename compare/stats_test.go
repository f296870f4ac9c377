package compare

import (
	"math"
	"testing"
	"time"

	"github.com/twinboot/twinboot/internal/event"
)

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want Summary
	}{
		{"empty", nil, Summary{}},
		{"one", []float64{7}, Summary{N: 1, Min: 7, Median: 7, P90: 7, Max: 7}},
		{"two: median is the mean, p90 the larger", []float64{4, 2}, Summary{N: 2, Min: 2, Median: 3, P90: 4, Max: 4}},
		{"odd", []float64{5, 1, 3}, Summary{N: 3, Min: 1, Median: 3, P90: 5, Max: 5}},
		{"even", []float64{4, 1, 3, 2}, Summary{N: 4, Min: 1, Median: 2.5, P90: 4, Max: 4}},
		// 0.9·10 = 9: the 9th smallest, not the 10th.
		{"ten", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, Summary{N: 10, Min: 1, Median: 5.5, P90: 9, Max: 10}},
		// ceil(0.9·11) = 10.
		{"eleven", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Summary{N: 11, Min: 1, Median: 6, P90: 10, Max: 11}},
		// ceil(0.9·20) = 18.
		{"twenty", seq(1, 20), Summary{N: 20, Min: 1, Median: 10.5, P90: 18, Max: 20}},
		{"ties", []float64{2, 2, 2, 9}, Summary{N: 4, Min: 2, Median: 2, P90: 9, Max: 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Summarize(tc.in); got != tc.want {
				t.Errorf("Summarize(%v) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestSummarizeDoesNotReorderInput(t *testing.T) {
	in := []float64{3, 1, 2}
	Summarize(in)
	if in[0] != 3 || in[1] != 1 || in[2] != 2 {
		t.Errorf("input changed: %v", in)
	}
}

func seq(from, to int) []float64 {
	var s []float64
	for i := from; i <= to; i++ {
		s = append(s, float64(i))
	}
	return s
}

func TestMedianRatio(t *testing.T) {
	for _, tc := range []struct {
		name     string
		num, den map[int]float64
		want     float64
		ok       bool
	}{
		{"none", nil, nil, 0, false},
		{"one pair", map[int]float64{0: 10}, map[int]float64{0: 4}, 2.5, true},
		// Pairwise, not a ratio of medians: medians are 20/20=1, pairs 2, 0.5, 1.
		{"pairs by index", map[int]float64{0: 20, 1: 10, 2: 30}, map[int]float64{0: 10, 1: 20, 2: 30}, 1, true},
		{"even count", map[int]float64{0: 2, 1: 4}, map[int]float64{0: 1, 1: 1}, 3, true},
		{"unpaired and zero denominators are skipped", map[int]float64{0: 6, 1: 5, 2: 9}, map[int]float64{0: 3, 2: 0, 3: 1}, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := MedianRatio(tc.num, tc.den)
			if got != tc.want || ok != tc.ok {
				t.Errorf("got %v,%v want %v,%v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func side(name string, readyMS int) *Side {
	return &Side{
		Name:    name,
		Reason:  "exited",
		ReadyNS: int64(readyMS) * int64(time.Millisecond),
		Phases: []event.Phase{
			{Side: event.Side(name), Name: "process start", At: 0},
			{Side: event.Side(name), Name: "READY seen", At: time.Duration(readyMS) * time.Millisecond},
		},
	}
}

func TestBuildStats(t *testing.T) {
	vm := func(ms int, touched uint64) *Side {
		s := side("vm", ms)
		s.Memory = Memory{ConfiguredBytes: 128 << 20, TouchedBytes: touched}
		s.Exits = map[string]uint64{"io": 100, "hlt": 2}
		return s
	}
	ct := func(ms int) *Side {
		s := side("container", ms)
		s.Memory.CgroupPeakBytes = 1 << 20
		return s
	}
	runs := []Run{
		// The warmup is wildly slow and must not count.
		{Index: 0, Warmup: true, VM: vm(9000, 1), Container: ct(9000)},
		{Index: 1, VM: vm(100, 10<<20), Container: ct(10), Peers: []Side{*side(PeerCrun, 20), *side(PeerQEMU, 400)}},
		{Index: 2, VM: vm(300, 30<<20), Container: ct(20), Peers: []Side{*side(PeerCrun, 20), {Name: PeerQEMU, Error: "boom"}}},
		{Index: 3, VM: vm(200, 20<<20), Container: ct(40), Peers: []Side{*side(PeerCrun, 80)}},
		// A failed side is left out of its statistics, not counted as zero.
		{Index: 4, VM: &Side{Name: "vm", Error: "timeout", Reason: "timeout"}, Container: ct(30)},
	}
	stats := BuildStats(runs)
	get := func(side, metric string) Stat {
		t.Helper()
		for _, s := range stats {
			if s.Side == side && s.Metric == metric {
				return s
			}
		}
		t.Fatalf("no stat %s/%s in %+v", side, metric, stats)
		return Stat{}
	}
	ms := float64(time.Millisecond)
	want := []Stat{
		// vm: 100, 200, 300; ratios to container 100/10=10, 300/20=15, 200/40=5 → median 10.
		{Side: "vm", Metric: MetricReady, Unit: "ns", N: 3, Min: 100 * ms, Median: 200 * ms, P90: 300 * ms, Max: 300 * ms, RatioToContainer: 10},
		// container: 10, 20, 40, 30 → median 25, p90 = rank ceil(3.6)=4 → 40.
		{Side: "container", Metric: MetricReady, Unit: "ns", N: 4, Min: 10 * ms, Median: 25 * ms, P90: 40 * ms, Max: 40 * ms},
		// crun: 20, 20, 80; crun/container 2, 1, 2 → 2; container/crun 0.5, 1, 0.5 → 0.5.
		{Side: PeerCrun, Metric: MetricReady, Unit: "ns", N: 3, Min: 20 * ms, Median: 20 * ms, P90: 80 * ms, Max: 80 * ms, RatioToContainer: 2, Ours: "container", OursToPeer: 0.5},
		// qemu: one good run (400); vm/qemu = 100/400.
		{Side: PeerQEMU, Metric: MetricReady, Unit: "ns", N: 1, Min: 400 * ms, Median: 400 * ms, P90: 400 * ms, Max: 400 * ms, RatioToContainer: 40, Ours: "vm", OursToPeer: 0.25},
		{Side: "vm", Metric: MetricTouched, Unit: "bytes", N: 3, Min: 10 << 20, Median: 20 << 20, P90: 30 << 20, Max: 30 << 20},
		{Side: "vm", Metric: MetricExits, Unit: "count", N: 3, Min: 102, Median: 102, P90: 102, Max: 102},
		{Side: "container", Metric: MetricCgroupPeak, Unit: "bytes", N: 4, Min: 1 << 20, Median: 1 << 20, P90: 1 << 20, Max: 1 << 20},
	}
	for _, w := range want {
		got := get(w.Side, w.Metric)
		if math.Abs(got.RatioToContainer-w.RatioToContainer) > 1e-12 || math.Abs(got.OursToPeer-w.OursToPeer) > 1e-12 {
			t.Errorf("%s/%s ratios: got %+v, want %+v", w.Side, w.Metric, got, w)
		}
		got.RatioToContainer, got.OursToPeer = w.RatioToContainer, w.OursToPeer
		if got != w {
			t.Errorf("%s/%s:\n got %+v\nwant %+v", w.Side, w.Metric, got, w)
		}
	}
	// Order: ours first, peers after, the headline metric first within a side.
	if stats[0].Side != "vm" || stats[0].Metric != MetricReady {
		t.Errorf("first stat is %s/%s, want vm/ready_ns", stats[0].Side, stats[0].Metric)
	}
	for _, s := range stats {
		if s.Side == "container" && s.Metric == MetricTouched {
			t.Errorf("container has no touched-RAM figure, got %+v", s)
		}
	}
}

func TestBuildStatsOnlyWarmups(t *testing.T) {
	if got := BuildStats([]Run{{Index: 0, Warmup: true, VM: side("vm", 5)}}); len(got) != 0 {
		t.Errorf("warmups only: got %+v, want no stats", got)
	}
}

package compare

// Metric names used in Stat.Metric, the CSV header and the charts. Phase
// metrics are PhasePrefix + the phase name ("phase:READY seen").
const (
	MetricReady       = "ready_ns"
	MetricConfigured  = "configured_bytes"
	MetricTouched     = "touched_bytes"
	MetricVMMOverhead = "vmm_overhead_bytes"
	MetricCgroupPeak  = "cgroup_peak_bytes"
	MetricRSS         = "rss_bytes"
	MetricPSS         = "pss_bytes"
	MetricSyscallNS   = "syscall_burst_ns" // guest clock, never mixed with host time
	MetricExits       = "exits_total"
	PhasePrefix       = "phase:"
)

// sample is one metric of one side in one run.
type sample struct {
	name  string
	unit  string
	value float64
}

// sideMeasures lists what can be summarised about s, in a stable order.
// Figures that do not apply to a side (zero memory fields, no report) are
// left out, so that "not measured" never becomes a zero in the statistics.
func sideMeasures(s *Side) []sample {
	if s == nil || !s.OK() {
		return nil
	}
	ms := []sample{{MetricReady, "ns", float64(s.ReadyNS)}}
	for _, p := range s.Phases {
		ms = append(ms, sample{PhasePrefix + p.Name, "ns", float64(p.At)})
	}
	for _, m := range []struct {
		name string
		v    uint64
	}{
		{MetricConfigured, s.Memory.ConfiguredBytes},
		{MetricTouched, s.Memory.TouchedBytes},
		{MetricVMMOverhead, s.Memory.VMMOverheadBytes},
		{MetricCgroupPeak, s.Memory.CgroupPeakBytes},
		{MetricRSS, s.Memory.RSSBytes},
		{MetricPSS, s.Memory.PSSBytes},
	} {
		if m.v > 0 {
			ms = append(ms, sample{m.name, "bytes", float64(m.v)})
		}
	}
	if s.Report != nil && s.Report.Syscalls != nil && s.Report.Syscalls.Count > 0 {
		ms = append(ms, sample{MetricSyscallNS, "ns", float64(s.Report.Syscalls.TotalNS)})
	}
	if len(s.Exits) > 0 {
		var total uint64
		for _, n := range s.Exits {
			total += n
		}
		ms = append(ms, sample{MetricExits, "count", float64(total)})
	}
	return ms
}

// OK reports whether the side reached READY: only such sides enter the
// statistics. A failed or skipped side is reported, never averaged in.
func (s *Side) OK() bool {
	return s != nil && s.Error == "" && s.ReadyNS > 0
}

// sidesOf returns the measured sides of run r keyed by name.
func sidesOf(r *Run) []*Side {
	var out []*Side
	if r.VM != nil {
		out = append(out, r.VM)
	}
	if r.Container != nil {
		out = append(out, r.Container)
	}
	for i := range r.Peers {
		out = append(out, &r.Peers[i])
	}
	return out
}

// oursFor names the twinboot side a peer is measured against: QEMU against
// our VM, the OCI runtimes against our container.
func oursFor(peer string) string {
	if peer == PeerQEMU {
		return "vm"
	}
	return "container"
}

// BuildStats summarises every metric of every side over the non-warmup runs,
// with the pairwise ratios described on Stat.
func BuildStats(runs []Run) []Stat {
	type key struct{ side, metric string }
	values := map[key]map[int]float64{}
	units := map[key]string{}
	var order []key
	for i := range runs {
		r := &runs[i]
		if r.Warmup {
			continue
		}
		for _, s := range sidesOf(r) {
			for _, m := range sideMeasures(s) {
				k := key{s.Name, m.name}
				if values[k] == nil {
					values[k] = map[int]float64{}
					units[k] = m.unit
					order = append(order, k)
				}
				values[k][r.Index] = m.value
			}
		}
	}
	sortKeys(order, func(k key) (string, string) { return k.side, k.metric })
	stats := make([]Stat, 0, len(order))
	for _, k := range order {
		vals := make([]float64, 0, len(values[k]))
		for _, v := range values[k] {
			vals = append(vals, v)
		}
		sum := Summarize(vals)
		st := Stat{
			Side: k.side, Metric: k.metric, Unit: units[k],
			N: sum.N, Min: sum.Min, Median: sum.Median, P90: sum.P90, Max: sum.Max,
		}
		if k.side != "container" {
			if ct, ok := values[key{"container", k.metric}]; ok {
				st.RatioToContainer, _ = MedianRatio(values[k], ct)
			}
		}
		if isPeer(k.side) {
			ours := oursFor(k.side)
			if o, ok := values[key{ours, k.metric}]; ok {
				if r, ok := MedianRatio(o, values[k]); ok {
					st.Ours, st.OursToPeer = ours, r
				}
			}
		}
		stats = append(stats, st)
	}
	return stats
}

func isPeer(side string) bool {
	return side != "vm" && side != "container"
}

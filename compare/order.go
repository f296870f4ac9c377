package compare

import (
	"sort"
	"strings"
)

// sideRank orders sides in every table and chart: ours first, then peers.
func sideRank(side string) int {
	switch side {
	case "vm":
		return 0
	case "container":
		return 1
	case PeerQEMU:
		return 2
	case PeerRunc:
		return 3
	case PeerCrun:
		return 4
	}
	return 5
}

// metricRank keeps the headline figure first and phases in boot order (their
// first-seen order is preserved by the stable sort).
func metricRank(metric string) int {
	switch {
	case metric == MetricReady:
		return 0
	case strings.HasPrefix(metric, PhasePrefix):
		return 1
	case metric == MetricSyscallNS:
		return 3
	case metric == MetricExits:
		return 4
	}
	return 2 // memory
}

// sortKeys sorts keys by side rank then metric rank, stably, so that phases
// keep the order in which the engine reported them.
func sortKeys[K any](keys []K, parts func(K) (side, metric string)) {
	sort.SliceStable(keys, func(i, j int) bool {
		si, mi := parts(keys[i])
		sj, mj := parts(keys[j])
		if a, b := sideRank(si), sideRank(sj); a != b {
			return a < b
		}
		if si != sj {
			return si < sj
		}
		return metricRank(mi) < metricRank(mj)
	})
}

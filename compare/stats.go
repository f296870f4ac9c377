package compare

import (
	"math"
	"sort"
)

// Summary is the distribution of one metric over N runs.
//
// Definitions (the same in the table, the JSON and the charts):
//   - Median: the middle value of the sorted sample; for an even N, the mean
//     of the two middle values.
//   - P90: the nearest-rank 90th percentile, the value at 1-based rank
//     ceil(0.9·N) of the sorted sample. It is always one of the measured
//     values, never an interpolation: with N=1 it is that value, with N=10
//     the 9th smallest, with N=20 the 18th.
type Summary struct {
	N      int
	Min    float64
	Median float64
	P90    float64
	Max    float64
}

// Summarize computes the Summary of values. An empty sample gives N=0 and
// zeros; callers leave such metrics out rather than report a fake zero.
func Summarize(values []float64) Summary {
	if len(values) == 0 {
		return Summary{}
	}
	s := append([]float64(nil), values...)
	sort.Float64s(s)
	n := len(s)
	return Summary{
		N:      n,
		Min:    s[0],
		Median: median(s),
		P90:    s[nearestRank(n, 0.9)-1],
		Max:    s[n-1],
	}
}

// nearestRank is the 1-based rank of the p-th quantile (0 < p ≤ 1) of n
// sorted values: ceil(p·n), at least 1. The small epsilon keeps 0.9·10 from
// becoming 9.000000000000002 and rounding up to 10.
func nearestRank(n int, p float64) int {
	r := int(math.Ceil(p*float64(n) - 1e-9))
	if r < 1 {
		r = 1
	}
	if r > n {
		r = n
	}
	return r
}

// median of an already sorted, non-empty slice.
func median(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// MedianRatio is the median of num[i]/den[i] over the indexes present in
// both maps with a positive denominator. Pairing by run index, rather than
// dividing two medians, keeps drift that hit both sides of the same run
// (a busy neighbour, a cold cache) from showing up as a difference between
// them. ok is false when no pair exists.
func MedianRatio(num, den map[int]float64) (ratio float64, ok bool) {
	var rs []float64
	for i, n := range num {
		d, found := den[i]
		if !found || d <= 0 {
			continue
		}
		rs = append(rs, n/d)
	}
	if len(rs) == 0 {
		return 0, false
	}
	sort.Float64s(rs)
	return median(rs), true
}

package tui

import (
	"fmt"
	"strings"
	"time"
)

// dur prints a duration with three significant figures in the unit a
// student reads at a glance: µs, ms or s.
func dur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

// sizeText prints a size in binary units.
func sizeText(n uint64) string {
	const k = 1024
	switch {
	case n < k:
		return fmt.Sprintf("%d B", n)
	case n < k*k:
		return fmt.Sprintf("%.1f KiB", float64(n)/k)
	case n < k*k*k:
		return fmt.Sprintf("%.1f MiB", float64(n)/(k*k))
	default:
		return fmt.Sprintf("%.2f GiB", float64(n)/(k*k*k))
	}
}

// ratio prints a/b as "209×", or "–" when it cannot be computed.
func ratio(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "–"
	}
	r := a / b
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f×", r)
	case r >= 10:
		return fmt.Sprintf("%.1f×", r)
	default:
		return fmt.Sprintf("%.2f×", r)
	}
}

// bar draws a horizontal bar of width w filled to frac (0..1) with eighths
// blocks, padded with spaces so that bars line up.
func bar(frac float64, w int) string {
	if w <= 0 {
		return ""
	}
	frac = min(max(frac, 0), 1)
	eighths := int(frac*float64(w*8) + 0.5)
	full, part := eighths/8, eighths%8
	var b strings.Builder
	b.WriteString(strings.Repeat("█", full))
	n := full
	if part > 0 && n < w {
		b.WriteRune([]rune(" ▏▎▍▌▋▊▉")[part])
		n++
	}
	if frac > 0 && n == 0 { // a tiny non-zero figure still shows
		b.WriteRune('▏')
		n++
	}
	b.WriteString(strings.Repeat(" ", w-n))
	return b.String()
}

// sparkline draws a histogram of vals in w bins between their min and max,
// one block character per bin, so a distribution fits on one line.
func sparkline(vals []float64, w int) string {
	if len(vals) == 0 || w <= 0 {
		return ""
	}
	lo, hi := vals[0], vals[0]
	for _, v := range vals {
		lo, hi = min(lo, v), max(hi, v)
	}
	bins := make([]int, w)
	for _, v := range vals {
		i := 0
		if hi > lo {
			i = int((v - lo) / (hi - lo) * float64(w-1))
		}
		bins[i]++
	}
	top := 0
	for _, c := range bins {
		top = max(top, c)
	}
	levels := []rune(" ▁▂▃▄▅▆▇█")
	var b strings.Builder
	for _, c := range bins {
		l := 0
		if c > 0 {
			l = 1 + c*(len(levels)-2)/top
		}
		b.WriteRune(levels[l])
	}
	return b.String()
}

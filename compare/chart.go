package compare

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/outfile"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Chart file names (without extension) written by Charts.
const (
	ChartPhases   = "boot-phases"
	ChartMemory   = "memory"
	ChartBootTime = "boot-times"
)

// Chart titles, also checked by tests and quoted by the docs.
const (
	TitlePhases   = "Boot phases: time from start to READY"
	TitleMemory   = "Memory footprint"
	TitleBootTime = "Time to READY over runs"
)

// ErrUnknownFormat means a chart format other than svg or png was asked for.
var ErrUnknownFormat = errors.New("unknown chart format")

// ParseFormats splits "svg,png" and rejects anything else.
func ParseFormats(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		switch f {
		case "svg", "png":
			out = append(out, f)
		case "":
		default:
			return nil, fmt.Errorf("%w %q (want svg, png or both: svg,png)", ErrUnknownFormat, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: none given (want svg, png or both: svg,png)", ErrUnknownFormat)
	}
	return out, nil
}

// Charts draws the three charts of res into dir in each format and returns
// the files written. Every chart carries in its title the host, the mode
// (native or emulated) and the date, so a picture lifted into a slide still
// says where its figures come from.
func Charts(res Results, dir string, formats []string) ([]string, error) {
	if res.Schema != Schema {
		return nil, fmt.Errorf("%w %q", ErrUnknownSchema, res.Schema)
	}
	for _, f := range formats {
		if f != "svg" && f != "png" {
			return nil, fmt.Errorf("%w %q", ErrUnknownFormat, f)
		}
	}
	stats := res.Stats
	if len(stats) == 0 {
		stats = BuildStats(res.Runs)
	}
	if len(stats) == 0 {
		return nil, errors.New("chart: the results hold no successful run to draw")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	foot := footer(res)
	makers := []struct {
		name string
		make func() (*plot.Plot, error)
	}{
		{ChartPhases, func() (*plot.Plot, error) { return phasesPlot(stats, foot) }},
		{ChartMemory, func() (*plot.Plot, error) { return memoryPlot(stats, foot) }},
		{ChartBootTime, func() (*plot.Plot, error) { return bootTimePlot(res.Runs, foot) }},
	}
	var files []string
	for _, m := range makers {
		p, err := m.make()
		if err != nil {
			return files, fmt.Errorf("chart %s: %w", m.name, err)
		}
		saved, err := SavePlot(p, dir, m.name, formats, 24*vg.Centimeter, 15*vg.Centimeter)
		files = append(files, saved...)
		if err != nil {
			return files, err
		}
	}
	return files, nil
}

// SavePlot writes p as dir/name.<format> for each format, each file whole
// or not at all; it returns the files written.
func SavePlot(p *plot.Plot, dir, name string, formats []string, w, h vg.Length) ([]string, error) {
	var files []string
	for _, f := range formats {
		path := filepath.Join(dir, name+"."+f)
		wt, err := p.WriterTo(w, h, f)
		if err != nil {
			return files, fmt.Errorf("chart %s: %w", path, err)
		}
		// Whole or not at all: a full disk leaves no 0-byte chart.
		if err := outfile.Write(path, func(w io.Writer) error { _, err := wt.WriteTo(w); return err }); err != nil {
			return files, fmt.Errorf("chart: %w", err)
		}
		files = append(files, path)
	}
	return files, nil
}

// footer is the second title line of every chart.
func footer(res Results) string { return ChartFooter(res.Host, res.Outer, res.Created, res.Emulated) }

// ChartFooter is the second title line of every chart twinboot draws: the
// host (in nested mode, the real machine and its lab machine), the date and
// the mode, so that a chart lifted into a slide still says where its
// figures come from.
func ChartFooter(h Host, outer *Host, created time.Time, emulated bool) string {
	mode := host.ModeNative
	if emulated {
		mode = "emulated (nested mode: timings not comparable with native ones)"
	}
	where := h.Hostname
	if h.KernelRelease != "" {
		where += ", Linux " + h.KernelRelease
	}
	if o := outer; o != nil {
		// Nested mode: the figures come from the lab machine, which has no
		// name of its own; say which real machine ran it.
		where = fmt.Sprintf("%s (Linux %s), inside its nested-mode lab machine (Linux %s)", o.Hostname, o.KernelRelease, h.KernelRelease)
	}
	return fmt.Sprintf("host %s · %s\nmode %s", where, created.UTC().Format("2006-01-02 15:04 UTC"), mode)
}

func newPlot(title, foot string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title + "\n" + foot
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.Legend.Top = true
	return p
}

// statMap indexes stats by side and metric.
func statMap(stats []Stat) (map[string]map[string]Stat, []string) {
	m := map[string]map[string]Stat{}
	var sides []string
	for _, s := range stats {
		if m[s.Side] == nil {
			m[s.Side] = map[string]Stat{}
			sides = append(sides, s.Side)
		}
		m[s.Side][s.Metric] = s
	}
	sort.SliceStable(sides, func(i, j int) bool { return sideRank(sides[i]) < sideRank(sides[j]) })
	return m, sides
}

// phasesPlot stacks, for each side, the median duration of each phase: the
// segment labelled "kernel loaded" is the time from the previous phase to
// that one. Medians of phase ends are used, then differenced, so the stack
// always ends at the median time to READY's own phase.
func phasesPlot(stats []Stat, foot string) (*plot.Plot, error) {
	m, sides := statMap(stats)
	p := newPlot(TitlePhases, foot)
	p.X.Label.Text = "time since the side's process start (ms, median over runs)"
	var prev *plotter.BarChart
	nth := 0 // one colour per segment across sides: no two legend entries look alike
	for si, side := range sides {
		type ph struct {
			name string
			at   float64
		}
		var phs []ph
		for _, s := range stats {
			if s.Side == side && strings.HasPrefix(s.Metric, PhasePrefix) {
				phs = append(phs, ph{strings.TrimPrefix(s.Metric, PhasePrefix), s.Median / 1e6})
			}
		}
		if len(phs) == 0 {
			continue
		}
		sort.SliceStable(phs, func(i, j int) bool { return phs[i].at < phs[j].at })
		last := 0.0
		for _, ph := range phs {
			d := ph.at - last
			last = ph.at
			if d <= 0 {
				continue
			}
			vals := make(plotter.Values, len(sides))
			vals[si] = d
			b, err := plotter.NewBarChart(vals, vg.Points(18))
			if err != nil {
				return nil, err
			}
			b.Horizontal = true
			b.Color = plotutil.Color(nth)
			nth++
			b.LineStyle.Width = vg.Points(0.3)
			if prev != nil {
				b.StackOn(prev)
			}
			prev = b
			p.Add(b)
			p.Legend.Add(side+": "+ph.name, b)
		}
	}
	if prev == nil {
		return nil, errors.New("no phase was measured")
	}
	names := make([]string, len(sides))
	for i, s := range sides {
		names[i] = s
		if r, ok := m[s][MetricReady]; ok {
			names[i] = fmt.Sprintf("%s (%s)", s, fmtMS(r.Median))
		}
	}
	p.NominalY(names...)
	p.Y.Label.Text = "side (median time to READY)"
	// Room on the right for the legend, so that it never hides a bar.
	p.X.Min = 0
	p.X.Max *= 1.45
	return p, nil
}

func fmtMS(ns float64) string {
	ms := ns / 1e6
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.2f ms", ms)
}

// memoryPlot shows each side's memory figures (medians) in MiB.
func memoryPlot(stats []Stat, foot string) (*plot.Plot, error) {
	m, sides := statMap(stats)
	p := newPlot(TitleMemory, foot)
	p.Y.Label.Text = "MiB (median over runs)"
	order := []struct{ metric, label string }{
		{MetricConfigured, "guest RAM configured"},
		{MetricTouched, "guest RAM touched"},
		{MetricVMMOverhead, "VMM overhead"},
		{MetricCgroupPeak, "cgroup peak"},
		{MetricRSS, "RSS"},
		{MetricPSS, "PSS"},
	}
	var vals plotter.Values
	var names []string
	for _, side := range sides {
		for _, o := range order {
			if s, ok := m[side][o.metric]; ok {
				vals = append(vals, s.Median/(1<<20))
				names = append(names, side+"\n"+o.label)
			}
		}
	}
	if len(vals) == 0 {
		return nil, errors.New("no memory figure was measured")
	}
	b, err := plotter.NewBarChart(vals, vg.Points(22))
	if err != nil {
		return nil, err
	}
	b.Color = color.RGBA{R: 70, G: 110, B: 170, A: 255}
	p.Add(b)
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = 0
	p.X.Tick.Label.Font.Size = vg.Points(7)
	return p, nil
}

// bootTimePlot draws, per side, a box plot of time to READY over the
// measured (non-warmup) runs and every run as a point. The axis is
// logarithmic: a VM and a container differ by orders of magnitude, and on a
// linear axis the container's spread would be a flat line.
func bootTimePlot(runs []Run, foot string) (*plot.Plot, error) {
	per := map[string]plotter.Values{}
	var sides []string
	for i := range runs {
		if runs[i].Warmup {
			continue
		}
		for _, s := range sidesOf(&runs[i]) {
			if !s.OK() {
				continue
			}
			if _, ok := per[s.Name]; !ok {
				sides = append(sides, s.Name)
			}
			per[s.Name] = append(per[s.Name], float64(s.ReadyNS)/1e6)
		}
	}
	if len(sides) == 0 {
		return nil, errors.New("no side reached READY")
	}
	sort.SliceStable(sides, func(i, j int) bool { return sideRank(sides[i]) < sideRank(sides[j]) })
	p := newPlot(TitleBootTime, foot)
	p.Y.Label.Text = "time to READY (ms, log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	names := make([]string, len(sides))
	lo, hi := 0.0, 0.0
	for i, side := range sides {
		vals := per[side]
		for _, v := range vals {
			if lo == 0 || v < lo {
				lo = v
			}
			hi = max(hi, v)
		}
		names[i] = fmt.Sprintf("%s (N=%d)", side, len(vals))
		box, err := plotter.NewBoxPlot(vg.Points(30), float64(i), vals)
		if err != nil {
			return nil, err
		}
		p.Add(box)
		pts := make(plotter.XYs, len(vals))
		for j, v := range vals {
			pts[j] = plotter.XY{X: float64(i) + 0.18, Y: v}
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Color = plotutil.Color(i)
		sc.GlyphStyle.Radius = vg.Points(2)
		p.Add(sc)
	}
	p.NominalX(names...)
	// Margins so that no box or point sits on the frame.
	p.X.Min, p.X.Max = -0.5, float64(len(sides))-0.5
	p.Y.Min, p.Y.Max = lo/1.5, hi*1.5
	return p, nil
}

package density

import (
	"fmt"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/internal/event"
)

// Chart file names (without extension) and titles written by Charts.
const (
	ChartMemory = "density-memory"
	ChartReady  = "density-ready"

	TitleMemory = "Memory of N idle instances"
	TitleReady  = "Time until all N instances are READY"
)

// Charts draws memory against N and time to all-READY against N, both
// kinds on each chart, into dir in each format (svg, png), and returns the
// files written.
func Charts(res Results, dir string, formats []string) ([]string, error) {
	if res.Schema != Schema {
		return nil, fmt.Errorf("%w %q", compare.ErrUnknownSchema, res.Schema)
	}
	if len(res.Steps) == 0 {
		return nil, fmt.Errorf("chart: %w", ErrNoSteps)
	}
	for _, f := range formats {
		if f != "svg" && f != "png" {
			return nil, fmt.Errorf("%w %q", compare.ErrUnknownFormat, f)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	foot := compare.ChartFooter(res.Host, res.Outer, res.Created, res.Emulated)
	charts := []struct {
		name, title, ylabel string
		y                   func(f *Fleet) float64
	}{
		{ChartMemory, TitleMemory, "MiB, all instances (VMs: VMM PSS; containers: cgroups)",
			func(f *Fleet) float64 { return float64(f.MemoryBytes) / (1 << 20) }},
		{ChartReady, TitleReady, timeLabel(res), func(f *Fleet) float64 { return float64(f.LastReadyNS) / 1e6 }},
	}
	var files []string
	for _, c := range charts {
		p := plot.New()
		p.Title.Text = c.title + "\n" + foot
		p.Title.TextStyle.Font.Size = vg.Points(11)
		p.Legend.Top, p.Legend.Left = true, true
		p.X.Label.Text = "N instances running at once"
		p.Y.Label.Text = c.ylabel
		p.X.Min, p.Y.Min = 0, 0
		drawn := 0
		for i, kind := range []Kind{event.Container, event.VM} {
			var pts plotter.XYs
			for _, s := range res.Steps {
				if f := fleetOf(s, kind); f != nil && f.Ready > 0 {
					pts = append(pts, plotter.XY{X: float64(f.Ready), Y: c.y(f)})
				}
			}
			if len(pts) == 0 {
				continue
			}
			line, points, err := plotter.NewLinePoints(pts)
			if err != nil {
				return files, fmt.Errorf("chart %s: %w", c.name, err)
			}
			line.Color = plotutil.Color(i)
			points.Color = plotutil.Color(i)
			points.Shape = draw.CircleGlyph{}
			p.Add(line, points)
			p.Legend.Add(plural(kind), line, points)
			drawn++
		}
		if drawn == 0 {
			return files, fmt.Errorf("chart %s: no instance reached READY", c.name)
		}
		saved, err := compare.SavePlot(p, dir, c.name, formats, 24*vg.Centimeter, 15*vg.Centimeter)
		files = append(files, saved...)
		if err != nil {
			return files, err
		}
	}
	return files, nil
}

func timeLabel(res Results) string {
	if res.Emulated {
		return "ms from start to the last READY (emulated)"
	}
	return "ms from start to the last READY"
}

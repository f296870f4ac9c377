package compare

import (
	"encoding/csv"
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"strconv"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// WriteNetBenchTable prints the benchmark as a terminal table.
func WriteNetBenchTable(w io.Writer, r NetBenchResults) error {
	em := "native"
	if r.Emulated {
		em = "emulated (nested mode: not comparable with native figures)"
	}
	fmt.Fprintf(w, "lab network %s (%s), lab host %s; %d run(s) of %d round trips and one %d MiB stream per target; %s\n",
		r.Network, r.Subnet, r.LabHost, r.Runs, r.Pings, r.StreamBytes>>20, em)
	fmt.Fprintf(w, "  %-10s %-16s %12s %12s %12s %12s\n", "lab host →", "address", "rtt p50 med", "rtt p50 max", "stream med", "stream min")
	for _, t := range r.Targets {
		switch {
		case t.Skipped != "":
			fmt.Fprintf(w, "  %-10s skipped: %s\n", t.Target, t.Skipped)
			continue
		case t.RTTP50.N == 0:
			fmt.Fprintf(w, "  %-10s FAILED: %s\n", t.Target, t.Error)
			continue
		}
		fmt.Fprintf(w, "  %-10s %-16s %9.0f µs %9.0f µs %7.1f MB/s %7.1f MB/s\n", t.Target, t.Addr,
			t.RTTP50.Median, t.RTTP50.Max, t.Stream.Median, t.Stream.Min)
		if c := t.VM; c != nil {
			fmt.Fprintf(w, "  %-10s %d frames, %.2f exits per frame (all exits), %.2f NIC register exits per frame, %d interrupts\n",
				"", c.Frames, c.ExitsPerFrame, c.NICMMIOExitsPerFrame, c.Interrupts)
		}
		if t.Error != "" {
			fmt.Fprintf(w, "  %-10s error: %s\n", "", t.Error)
		}
	}
	return nil
}

// NetBenchCSVHeader is the CSV's first row: one row per target and run.
var NetBenchCSVHeader = []string{"network", "emulated", "target", "run", "round_trips", "rtt_p50_us", "rtt_p99_us", "rtt_mean_us", "stream_bytes", "stream_mb_s"}

// WriteNetBenchCSV writes one row per target and measured run.
func WriteNetBenchCSV(w io.Writer, r NetBenchResults) error {
	cw := csv.NewWriter(w)
	cw.Write(NetBenchCSVHeader)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	for _, t := range r.Targets {
		for i, b := range t.Runs {
			cw.Write([]string{r.Network, strconv.FormatBool(r.Emulated), t.Target, strconv.Itoa(i + 1), strconv.Itoa(b.RoundTrips),
				f(b.RTTP50us), f(b.RTTP99us), f(b.RTTMeanus), strconv.FormatInt(b.StreamBytes, 10), f(b.StreamMBps)})
		}
	}
	cw.Flush()
	return cw.Error()
}

// Net chart names and titles.
const (
	ChartNetRTT    = "net-rtt"
	ChartNetStream = "net-stream"
	TitleNetRTT    = "Lab host → target: request/response round trip"
	TitleNetStream = "Lab host ← target: one TCP stream"
)

// NetBenchCharts draws the median round trip and the median stream
// throughput of each measured target, as SVG and/or PNG in dir.
func NetBenchCharts(r NetBenchResults, dir string, formats []string) ([]string, error) {
	for _, f := range formats {
		if f != "svg" && f != "png" {
			return nil, fmt.Errorf("%w %q", ErrUnknownFormat, f)
		}
	}
	var names []string
	var rtt, mbps plotter.Values
	for _, t := range r.Targets {
		if t.RTTP50.N > 0 {
			names = append(names, t.Target)
			rtt = append(rtt, t.RTTP50.Median)
			mbps = append(mbps, t.Stream.Median)
		}
	}
	if len(names) == 0 {
		return nil, errors.New("chart: no target was measured")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	mode := "native"
	if r.Emulated {
		mode = "emulated (nested mode: timings not comparable with native ones)"
	}
	foot := fmt.Sprintf("%s · %d run(s) · %s\nmode %s", r.Network, r.Runs, r.Created.UTC().Format("2006-01-02 15:04 UTC"), mode)
	var files []string
	for _, c := range []struct {
		name, title, unit string
		vals              plotter.Values
	}{
		{ChartNetRTT, TitleNetRTT, "µs (median of the runs' medians)", rtt},
		{ChartNetStream, TitleNetStream, "MB/s (median over runs)", mbps},
	} {
		p := newPlot(c.title, foot)
		p.Y.Label.Text = c.unit
		b, err := plotter.NewBarChart(c.vals, vg.Points(40))
		if err != nil {
			return files, err
		}
		b.Color = color.RGBA{R: 70, G: 110, B: 170, A: 255}
		p.Add(b)
		p.NominalX(names...)
		saved, err := SavePlot(p, dir, c.name, formats, 20*vg.Centimeter, 12*vg.Centimeter)
		files = append(files, saved...)
		if err != nil {
			return files, err
		}
	}
	return files, nil
}

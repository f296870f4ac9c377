package tui

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
)

// The golden tests run the model in a real bubbletea program (teatest),
// feed it the recorded stream, and compare the final View with
// testdata/TestGolden/<case>/<size>.golden. Regenerate with -update.
// Colour is off (the Ascii profile, as NO_COLOR gives), so the files are
// plain text a reviewer can read.
func TestGolden(t *testing.T) {
	cases := []struct {
		name   string
		stream string
		keys   []string // pressed after the run finished
		run    bool
		sizes  [][2]int // besides 120×40 and 80×24
		bench  int      // start with b (this many runs) instead of r
	}{
		{name: "first-frame"},
		{name: "finished", run: true},
		{name: "lessons-ko", run: true, keys: []string{"l", "n", "L"}},
		// At 100×30 the full help squeezes the panes: cards become lines.
		{name: "help", run: true, keys: []string{"?", "tab"}, sizes: [][2]int{{100, 30}}},
		// A real recording: nested mode, the container side failed.
		{name: "container-failed", stream: "run-nested-container-failed.recorded.jsonl", run: true},
		// A real recording of r in nested mode, both sides READY.
		{name: "recorded-run", stream: "run-nested.recorded.jsonl", run: true, sizes: [][2]int{{100, 30}}},
		// A real recording of b with --runs 3 in nested mode.
		{name: "bench", stream: "bench3-nested.recorded.jsonl", run: true, bench: 3},
	}
	for _, tc := range cases {
		for _, size := range append([][2]int{{120, 40}, {80, 24}}, tc.sizes...) {
			t.Run(fmt.Sprintf("%s/%dx%d", tc.name, size[0], size[1]), func(t *testing.T) {
				name := tc.stream
				if name == "" {
					name = "run-nested.handwritten.jsonl"
				}
				evs := stream(t, name)
				m := testModel(t, &scripted{run: evs, bench: evs}, size[0], size[1])
				m.opts.BenchRuns = tc.bench
				tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(size[0], size[1]))
				t.Cleanup(func() { _ = tm.Quit() })
				if tc.run {
					if tc.bench > 0 {
						tm.Type("b")
					} else {
						tm.Type("r")
					}
					teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
						// Not "[idle]": the first frame says that too.
						return bytes.Contains(b, []byte(" finished"))
					}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
				}
				for _, k := range tc.keys {
					if k == "tab" {
						tm.Send(tea.KeyMsg{Type: tea.KeyTab})
						continue
					}
					tm.Type(k)
				}
				if err := tm.Quit(); err != nil {
					t.Fatal(err)
				}
				final := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(Model)
				teatest.RequireEqualOutput(t, []byte(final.View()))
			})
		}
	}
}

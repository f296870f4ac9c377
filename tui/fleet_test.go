package tui

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"
)

// f fills the fleet view with one tile per instance as each is READY, with
// totals per kind; x stops the fleet (the engine's Fleet returns once its
// context is cancelled), and the tiles stay for reading.
func TestFleetTilesTotalsAndStop(t *testing.T) {
	eng := &scripted{fleet: stream(t, "fleet.handwritten.jsonl")}
	m := testModel(t, eng, 120, 40)
	m, cmd := press(m, "f")
	if !m.fleet.open || m.job == nil || m.job.kind != jobFleet {
		t.Fatalf("f did not start a fleet: open %v, job %v", m.fleet.open, m.job)
	}
	// Fold the stream's events as they come, until the fleet is all up.
	for i := 0; i < 200 && cmd != nil; i++ {
		msg := cmd()
		next, c := m.Update(msg)
		m, cmd = next.(Model), c
		if len(m.fleet.vms.tiles) == 4 && len(m.fleet.cts.tiles) == 8 {
			break
		}
	}
	view := m.View()
	for _, want := range []string{"4 of 4 READY", "7 of 8 READY", "FAILED", "vm 3 ✓", "ct 7 ✓", "x stop the fleet"} {
		if !strings.Contains(view, want) {
			t.Errorf("the fleet view lacks %q:\n%s", want, view)
		}
	}
	n, mem, last := m.fleet.vms.readyCount()
	if n != 4 || mem == 0 || last != 2790*time.Millisecond {
		t.Errorf("VM totals: %d ready, %d bytes, last %v", n, mem, last)
	}
	listening := cmd // the job's next message: its end, once x has stopped it
	m, _ = press(m, "x")
	m, _ = drive(t, m, listening)
	if m.job != nil || m.fleet.running {
		t.Errorf("x did not stop the fleet: job %v, running %v", m.job, m.fleet.running)
	}
	if !strings.Contains(m.status, "fleet stopped") {
		t.Errorf("status after x: %q", m.status)
	}
	m, _ = press(m, "esc")
	if m.fleet.open {
		t.Error("esc did not close the fleet view")
	}
}

// The fleet view's screens: a hand-written stream with a failing container,
// and a real recording of f in nested mode (4 VMs, 8 containers, stopped in
// its window).
func TestGoldenFleet(t *testing.T) {
	for _, c := range []struct{ name, stream string }{
		{"handwritten", "fleet.handwritten.jsonl"},
		{"recorded", "fleet-nested.recorded.jsonl"},
	} {
		for _, size := range [][2]int{{120, 40}, {80, 24}} {
			t.Run(fmt.Sprintf("%s/%dx%d", c.name, size[0], size[1]), func(t *testing.T) { goldenFleet(t, c.stream, size) })
		}
	}
}

// goldenFleet presses f, waits for the VMs to be all READY, presses x,
// waits for the stop, and compares the screen.
func goldenFleet(t *testing.T, name string, size [2]int) {
	m := testModel(t, &scripted{fleet: stream(t, name)}, size[0], size[1])
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(size[0], size[1]))
	t.Cleanup(func() { _ = tm.Quit() })
	tm.Type("f")
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("4 of 4 READY")) },
		teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	tm.Type("x")
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("fleet stopped")) },
		teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	final := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(Model)
	teatest.RequireEqualOutput(t, []byte(final.View()))
}

package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/lab"
)

// busyModel is the heaviest screen the lab draws: a finished run with a
// full console, 50 bench runs with statistics, the lessons panel and the
// full help open.
func busyModel(b *testing.B, w, h int) Model {
	m := testModel(b, &lab.Replay{}, w, h)
	for _, ev := range stream(b, "run-nested.handwritten.jsonl") {
		m.apply(ev)
	}
	for i := range consoleLines {
		m.apply(event.Console{Side: event.VM, Text: fmt.Sprintf("[%8.6f] guest line %d with some text to wrap and cut\r\n", float64(i)/100, i)})
		m.apply(event.Console{Side: event.Container, Text: fmt.Sprintf("container line %d\n", i)})
	}
	m.bench = benchState{active: true, total: 100}
	for _, ev := range benchStream(50) {
		if rd, ok := ev.(compare.RunDone); ok {
			m.bench.done++
			m.bench.vmReady = append(m.bench.vmReady, float64(rd.Run.VM.ReadyNS))
			m.bench.ctReady = append(m.bench.ctReady, float64(rd.Run.Container.ReadyNS))
		}
		if f, ok := ev.(compare.Finished); ok {
			m.bench.stats = f.Results.Stats
		}
	}
	m.lessons.open = true
	m.help.ShowAll = true
	return m
}

// BenchmarkView measures one frame of the busy screen; View runs on every
// message, so it must stay far below a frame's budget.
func BenchmarkView(b *testing.B) {
	for _, size := range [][2]int{{120, 40}, {80, 24}, {200, 60}} {
		b.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(b *testing.B) {
			m := busyModel(b, size[0], size[1])
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// BenchmarkFirstFrame measures what the student waits for before the lab
// shows anything: building the model (loading the embedded lessons) and the
// first View. The engine is not involved: it starts after the first frame.
func BenchmarkFirstFrame(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m := New(ctx, &lab.Replay{}, Options{Lessons: DocsLessons, Renderer: plain()})
		m.width, m.height = 120, 40
		_ = m.View()
	}
}

// The first frame does not wait for the engine: with an engine that blocks
// until cancelled, the lab still draws, saying the run is in progress.
func TestFirstFrameDoesNotWaitForEngine(t *testing.T) {
	eng := &blocking{started: make(chan struct{}, 1)}
	m := testModel(t, eng, 120, 40)
	m.opts.AutoRun = true
	next, cmd := m.Update(m.Init()())
	m = next.(Model)
	v := m.View()
	if !strings.Contains(v, "[run in progress]") || !strings.Contains(v, "waiting…") {
		t.Fatalf("first frame:\n%s", v)
	}
	m.job.cancel()
	drive(t, m, cmd)
}

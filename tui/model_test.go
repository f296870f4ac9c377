package tui

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/lab"
)

func TestRunStreamState(t *testing.T) {
	evs := stream(t, "run-nested.handwritten.jsonl")
	m := testModel(t, &lab.Replay{Source: "fixture", Events: evs}, 120, 40)
	m, cmd := press(m, "r")
	if !m.Busy() {
		t.Fatal("r did not start a run")
	}
	m, quit := drive(t, m, cmd)
	if quit {
		t.Fatal("run ended the program")
	}
	if m.Busy() {
		t.Fatal("still busy after the stream ended")
	}
	if got := len(m.vm.phases); got != 7 {
		t.Errorf("VM phases = %d, want 7", got)
	}
	if got := len(m.ct.phases); got != 6 {
		t.Errorf("container phases = %d, want 6", got)
	}
	if d, ok := m.vm.ready(); !ok || d != 2510*time.Millisecond {
		t.Errorf("VM ready = %v, %v", d, ok)
	}
	if d, ok := m.ct.ready(); !ok || d != 19800*time.Microsecond {
		t.Errorf("container ready = %v, %v", d, ok)
	}
	if m.vm.done == nil || m.vm.done.Memory.ConfiguredBytes != 64<<20 {
		t.Errorf("VM side-done not applied: %+v", m.vm.done)
	}
	if shared, known := m.kernelShared(&m.vm); !known || shared {
		t.Errorf("VM kernel shared = %v (known %v), want not shared", shared, known)
	}
	if shared, known := m.kernelShared(&m.ct); !known || !shared {
		t.Errorf("container kernel shared = %v (known %v), want shared", shared, known)
	}
	if m.lastRun == nil || m.lastRun.Kernel.KernelsInRAM != 2 {
		t.Errorf("run-done not applied: %+v", m.lastRun)
	}
	if m.results == nil || m.results.Mode != "nested" || !m.emulated {
		t.Errorf("finished not applied: results %v, emulated %v", m.results, m.emulated)
	}
	if !slices.ContainsFunc(m.vm.console, func(l string) bool { return strings.HasPrefix(l, "TWINBOOT-READY ") }) {
		t.Errorf("VM console lacks the READY line: %q", m.vm.console)
	}
	for _, l := range m.vm.console {
		if strings.ContainsAny(l, "\r\x1b") {
			t.Errorf("control bytes kept in console line %q", l)
		}
	}
	if m.status != "run finished" {
		t.Errorf("status = %q", m.status)
	}
}

// blocking is a test engine that runs until cancelled, then takes a moment
// to "clean up", and records that it did.
type blocking struct {
	started  chan struct{}
	cleaned  atomic.Bool
	runs     atomic.Int32
	cleanDur time.Duration
}

func (b *blocking) Run(ctx context.Context, sink event.Sink) error {
	b.runs.Add(1)
	sink.Emit(compare.RunStarted{Total: 1, Mode: "native"})
	sink.Emit(event.Phase{Side: event.VM, Name: "process start"})
	b.started <- struct{}{}
	<-ctx.Done()
	time.Sleep(b.cleanDur)
	b.cleaned.Store(true)
	return ctx.Err()
}
func (b *blocking) Bench(ctx context.Context, _ int, sink event.Sink) error { return b.Run(ctx, sink) }
func (b *blocking) Fleet(ctx context.Context, _, _ int, sink event.Sink) error {
	return b.Run(ctx, sink)
}
func (b *blocking) Net(ctx context.Context, sink event.Sink) error { return b.Run(ctx, sink) }
func (b *blocking) Shell(context.Context, event.Side) (lab.Shell, error) {
	return nil, errors.New("no shell in this test")
}
func (b *blocking) Export(context.Context, compare.Results, string) ([]string, error) {
	return nil, errors.New("no export in this test")
}

func TestQuitWaitsForCleanup(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		t.Run(k, func(t *testing.T) {
			eng := &blocking{started: make(chan struct{}, 4), cleanDur: 50 * time.Millisecond}
			m := testModel(t, eng, 120, 40)
			m, cmd := press(m, "r")
			// Deliver the first events, then quit mid-run.
			next, cmd2 := m.Update(cmd())
			m = next.(Model)
			<-eng.started
			m, qcmd := press(m, k)
			if qcmd != nil {
				if _, isQuit := qcmd().(tea.QuitMsg); isQuit {
					t.Fatal("quit before the engine cleaned up")
				}
			}
			if !m.quitting {
				t.Fatal("not quitting")
			}
			m, quit := drive(t, m, cmd2)
			if !quit {
				t.Fatal("model never quit")
			}
			if !eng.cleaned.Load() {
				t.Fatal("model quit before the engine returned")
			}
			if !strings.Contains(m.statusView(120), "quitting") {
				t.Errorf("status does not say it is quitting: %q", m.statusView(120))
			}
		})
	}
}

func TestRerunCancelsThenRestarts(t *testing.T) {
	eng := &blocking{started: make(chan struct{}, 4)}
	m := testModel(t, eng, 120, 40)
	m, cmd := press(m, "r")
	next, cmd := m.Update(cmd())
	m = next.(Model)
	<-eng.started
	first := m.job
	m, rcmd := press(m, "r")
	if rcmd != nil {
		t.Fatal("second run started while the first was still running")
	}
	// The first run's end starts the second.
	for {
		msg := cmd()
		next, cmd = m.Update(msg)
		m = next.(Model)
		if _, done := msg.(jobDoneMsg); done {
			break
		}
	}
	if m.job == nil || m.job == first {
		t.Fatalf("no new run after the first ended (job %v)", m.job)
	}
	<-eng.started
	if got := eng.runs.Load(); got != 2 {
		t.Errorf("engine runs = %d, want 2", got)
	}
	if !eng.cleaned.Load() {
		t.Error("first run was not cleaned up before the second")
	}
	m.job.cancel()
	m, _ = drive(t, m, cmd)
}

func TestReplayRefusesWhatItCannotDo(t *testing.T) {
	m := testModel(t, &lab.Replay{Source: "fixture"}, 120, 40)
	m, cmd := press(m, "b")
	m, _ = drive(t, m, cmd)
	if !strings.Contains(m.status, "bench failed") || !strings.Contains(m.status, lab.ErrReplay.Error()) {
		t.Errorf("bench on a replay: status %q", m.status)
	}
	m, cmd = press(m, "e")
	m, _ = drive(t, m, cmd)
	if !strings.Contains(m.status, "nothing to export") {
		t.Errorf("export without results: status %q", m.status)
	}
	m, cmd = press(m, "s")
	m, _ = drive(t, m, cmd)
	if !strings.Contains(m.status, "shell in the virtual machine") || !strings.Contains(m.status, lab.ErrReplay.Error()) {
		t.Errorf("shell on a replay: status %q", m.status)
	}
}

// scripted plays fixed streams for Run and Bench and records exports.
type scripted struct {
	run, bench, net []event.Event
	// fleet is played by Fleet, which then holds the fleet up until it is
	// stopped, as a real one does.
	fleet    []event.Event
	exported string
}

func (s *scripted) Fleet(ctx context.Context, _, _ int, sink event.Sink) error {
	if err := (&lab.Replay{Events: s.fleet}).Run(ctx, sink); err != nil {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

func (s *scripted) Run(ctx context.Context, sink event.Sink) error {
	return (&lab.Replay{Events: s.run}).Run(ctx, sink)
}
func (s *scripted) Bench(ctx context.Context, runs int, sink event.Sink) error {
	return (&lab.Replay{Events: s.bench}).Run(ctx, sink)
}
func (s *scripted) Net(ctx context.Context, sink event.Sink) error {
	return (&lab.Replay{Events: s.net}).Net(ctx, sink)
}
func (s *scripted) Shell(context.Context, event.Side) (lab.Shell, error) {
	return nil, errors.New("no shell here")
}
func (s *scripted) Export(_ context.Context, _ compare.Results, dir string) ([]string, error) {
	s.exported = dir
	return []string{dir + "/results.json", dir + "/results.csv", dir + "/boot.svg"}, nil
}

// benchStream builds n runs with known ready times and a Finished with stats.
func benchStream(n int) []event.Event {
	var evs []event.Event
	var runs []compare.Run
	for i := range n {
		evs = append(evs, compare.RunStarted{Index: i, Total: n, Mode: "native"})
		r := compare.Run{Index: i,
			VM:        &compare.Side{Name: "vm", ReadyNS: int64(100+i) * 1e6},
			Container: &compare.Side{Name: "container", ReadyNS: int64(10+i) * 1e6}}
		evs = append(evs, compare.RunDone{Run: r})
		runs = append(runs, r)
	}
	evs = append(evs, compare.Finished{Results: compare.Results{Mode: "native", Runs: runs, Stats: []compare.Stat{
		{Side: "vm", Metric: "ready_ns", Unit: "ns", N: n, Min: 100e6, Median: 102e6, P90: 103e6, Max: 104e6, RatioToContainer: 8.5},
		{Side: "container", Metric: "ready_ns", Unit: "ns", N: n, Min: 10e6, Median: 12e6, P90: 13e6, Max: 14e6},
	}}})
	return evs
}

func TestBenchProgressAndExport(t *testing.T) {
	eng := &scripted{bench: benchStream(5)}
	m := testModel(t, eng, 120, 40)
	m.opts.BenchRuns = 5
	m, cmd := press(m, "b")
	if !m.bench.active || m.bench.total != 5 {
		t.Fatalf("bench state %+v", m.bench)
	}
	// Half way: the progress line shows the count.
	for m.bench.done < 2 {
		next, c := m.Update(cmd())
		m, cmd = next.(Model), c
	}
	if v := m.View(); !strings.Contains(v, "bench 2/5 runs") {
		t.Errorf("progress not shown:\n%s", v)
	}
	m, _ = drive(t, m, cmd)
	if len(m.bench.vmReady) != 5 || len(m.bench.ctReady) != 5 {
		t.Fatalf("bench values %v %v", m.bench.vmReady, m.bench.ctReady)
	}
	v := m.View()
	for _, want := range []string{"median 102 ms", "median 12.0 ms", "VM/ct 8.50×", "(n=5)"} {
		if !strings.Contains(v, want) {
			t.Errorf("bench view lacks %q:\n%s", want, v)
		}
	}
	m, cmd = press(m, "e")
	m, _ = drive(t, m, cmd)
	if eng.exported != "/tmp/twinboot-export" {
		t.Errorf("export dir = %q", eng.exported)
	}
	want := "exported 3 files to /tmp/twinboot-export (results.json, results.csv, boot.svg)"
	if m.status != want {
		t.Errorf("status = %q, want %q", m.status, want)
	}
}

func TestLessonsLanguageKeepsStep(t *testing.T) {
	m := testModel(t, &lab.Replay{}, 120, 40)
	m, _ = press(m, "l")
	if !m.lessons.open {
		t.Fatal("l did not open the lessons")
	}
	m, _ = press(m, "n")
	m, _ = press(m, "n") // crosses into the second lesson
	st, _ := m.lessons.step()
	if st.ID != "ready" || m.lessons.li != 1 {
		t.Fatalf("after two steps: lesson %d step %q", m.lessons.li, st.ID)
	}
	m, _ = press(m, "p")
	m, _ = press(m, "L")
	st, _ = m.lessons.step()
	if m.lessons.lang != "ko" || st.ID != "boot-id" || !strings.Contains(st.Title, "부팅") {
		t.Fatalf("after L: lang %s step %+v", m.lessons.lang, st)
	}
	if v := m.View(); !strings.Contains(v, "해 보기") || !strings.Contains(v, "lesson 1/2 · step 2/2") {
		t.Errorf("Korean panel not shown:\n%s", v)
	}
	m, _ = press(m, "L")
	if st, _ = m.lessons.step(); m.lessons.lang != "en" || st.ID != "boot-id" {
		t.Fatalf("back to English: lang %s step %q", m.lessons.lang, st.ID)
	}
	m, _ = press(m, "p")
	m, _ = press(m, "p")
	m, _ = press(m, "p") // stays on the first step
	if st, _ = m.lessons.step(); st.ID != "release" || m.lessons.li != 0 {
		t.Fatalf("before the start: lesson %d step %q", m.lessons.li, st.ID)
	}
}

func TestLessonsMissing(t *testing.T) {
	m := testModel(t, &lab.Replay{}, 120, 40)
	m.lessons = newLessons(func(lang string) ([]Lesson, error) {
		return nil, fmt.Errorf("unknown lesson language %q", lang)
	}, "en")
	m, _ = press(m, "l")
	if v := m.View(); !strings.Contains(v, `unknown lesson language "en"`) {
		t.Errorf("lesson error not shown:\n%s", v)
	}
}

func TestConsoleChunksAndCap(t *testing.T) {
	s := newSideState(event.VM)
	s.addConsole("hel")
	s.addConsole("lo\r\nwor")
	if got := s.tail(5); !slices.Equal(got, []string{"hello", "wor"}) {
		t.Fatalf("tail = %q", got)
	}
	s.addConsole("ld\x1b[31m red\x1b[0m\tend\n")
	if got := s.tail(1); got[0] != "world red    end" {
		t.Fatalf("escape sequences not removed: %q", got[0])
	}
	for i := range 3 * consoleLines {
		s.addConsole(fmt.Sprintf("line %d\n", i))
	}
	if len(s.console) != consoleLines || s.console[consoleLines-1] != fmt.Sprintf("line %d", 3*consoleLines-1) {
		t.Fatalf("ring: %d lines, last %q", len(s.console), s.console[len(s.console)-1])
	}
}

func TestKeysListed(t *testing.T) {
	keys := Keys()
	for _, k := range []string{"r", "b", "s", "tab", "l", "e", "L", "?", "q"} {
		if !slices.Contains(keys, k) {
			t.Errorf("Keys() lacks %q: %v", k, keys)
		}
	}
}

func TestHelpToggle(t *testing.T) {
	m := testModel(t, &lab.Replay{}, 120, 40)
	short := m.View()
	m, _ = press(m, "?")
	full := m.View()
	if short == full || !strings.Contains(full, "previous step") {
		t.Errorf("? did not show the full help:\n%s", full)
	}
}

func TestFailureShownAsText(t *testing.T) {
	m := testModel(t, &lab.Replay{}, 120, 40)
	m.apply(compare.RunStarted{Total: 1, Mode: "native"})
	m.apply(event.Failure{Side: event.VM, Err: "KVM_EXIT_INTERNAL_ERROR at rip 0xffffffff81000000"})
	m.apply(event.Failure{Err: "container: cgroup: permission denied"})
	v := m.View()
	for _, want := range []string{"FAILED: KVM_EXIT_INTERNAL_ERROR", "ERROR: container: cgroup"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
}

func TestViewFitsTerminal(t *testing.T) {
	evs := stream(t, "run-nested.handwritten.jsonl")
	for _, size := range [][2]int{{200, 60}, {120, 40}, {100, 30}, {99, 29}, {80, 24}, {60, 20}, {40, 12}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			m := testModel(t, &lab.Replay{}, size[0], size[1])
			for _, ev := range evs {
				m.apply(ev)
			}
			m.lessons.open = true
			lines := strings.Split(m.View(), "\n")
			if len(lines) > size[1] {
				t.Errorf("%d lines for a %d-line terminal", len(lines), size[1])
			}
			for i, l := range lines {
				if w := lipglossWidth(l); w > size[0] {
					t.Errorf("line %d is %d cells wide: %q", i, w, l)
				}
			}
		})
	}
}

// The real lessons (package docs) load in both languages, and L keeps the
// step on every step of the course.
func TestDocsLessonsSwitch(t *testing.T) {
	m := testModel(t, &lab.Replay{}, 120, 40)
	m.lessons = newLessons(DocsLessons, "en")
	if m.lessons.err != "" || len(m.lessons.lessons) == 0 {
		t.Fatalf("docs lessons: %q", m.lessons.err)
	}
	m, _ = press(m, "l")
	n := 0
	for _, l := range m.lessons.lessons {
		n += len(l.Steps)
	}
	for i := range n {
		en, _ := m.lessons.step()
		m, _ = press(m, "L")
		ko, _ := m.lessons.step()
		if m.lessons.lang != "ko" || ko.ID != en.ID {
			t.Fatalf("step %d: en %q, ko %q (lang %s)", i, en.ID, ko.ID, m.lessons.lang)
		}
		if v := m.View(); !strings.Contains(v, "해 보기") && ko.TryIt != "" {
			t.Errorf("step %q: Korean panel lacks its Try it:\n%s", ko.ID, v)
		}
		m, _ = press(m, "L")
		m, _ = press(m, "n")
	}
}

// A re-run outlines the previous run's phases until they are reached again.
func TestRerunOutlinesPreviousPhases(t *testing.T) {
	m := testModel(t, &lab.Replay{}, 120, 40)
	for _, ev := range stream(t, "run-nested.handwritten.jsonl") {
		m.apply(ev)
	}
	m.apply(compare.RunStarted{Total: 1, Mode: "nested", Emulated: true})
	m.apply(event.Phase{Side: event.VM, Name: "process start"})
	m.apply(event.Phase{Side: event.VM, Name: "KVM VM and memory ready", At: 2 * time.Millisecond})
	if got := len(m.vm.pending()); got != 5 {
		t.Fatalf("VM pending phases = %d, want 5", got)
	}
	v := m.View()
	if !strings.Contains(v, "· READY seen") || !strings.Contains(v, "last 2.51 s") {
		t.Errorf("pending phases not outlined:\n%s", v)
	}
	if len(m.ct.phases) != 0 || len(m.ct.pending()) != 6 {
		t.Errorf("container: %d phases, %d pending", len(m.ct.phases), len(m.ct.pending()))
	}
}

// A step points at the part of the screen it talks about, with a » that is
// text, not colour, and the marks stay when the language changes.
func TestLessonPointsAtScreen(t *testing.T) {
	m := testModel(t, &lab.Replay{}, 120, 40)
	for _, ev := range stream(t, "run-nested.handwritten.jsonl") {
		m.apply(ev)
	}
	m, _ = press(m, "l") // kernel/release: "the kernel release card … the badge"
	if want := lookKernel | lookBadge; m.lessons.targets != want {
		t.Fatalf("targets = %b, want %b", m.lessons.targets, want)
	}
	v := m.View()
	for _, want := range []string{"»kernel shared with host: NO", "»kernel shared with host: YES", "│»kernel"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	m, _ = press(m, "n") // boot-id: "boot_id in the comparison strip"
	m, _ = press(m, "L")
	if m.lessons.targets != lookKernels {
		t.Fatalf("Korean boot-id step targets = %b, want %b", m.lessons.targets, lookKernels)
	}
	if v := m.View(); !strings.Contains(v, "»kernels in RAM") {
		t.Errorf("strip not marked:\n%s", v)
	}
	m, _ = press(m, "l")
	if v := m.View(); strings.Contains(v, "»") {
		t.Errorf("marks left after closing the lessons:\n%s", v)
	}
}

// A key pressed just as a shell handed the terminal back (the shell's
// Unread) is acted on by the lab: here "?" then "q", in that order.
func TestShellHandsBackLateKeys(t *testing.T) {
	m := testModel(t, &scripted{}, 120, 40)
	next, cmd := m.Update(shellDoneMsg{side: event.Container, unread: []byte("?q")})
	m = next.(Model)
	if cmd == nil {
		t.Fatal("the late keys were dropped")
	}
	// tea.Sequence's message is an unexported slice of commands: run them
	// in order, as bubbletea does, and feed what they return back in.
	seq := reflect.ValueOf(cmd())
	if seq.Kind() != reflect.Slice || seq.Len() != 2 {
		t.Fatalf("late keys came as %T, want a sequence of two", cmd())
	}
	var got []string
	for i := 0; i < seq.Len(); i++ {
		msg := seq.Index(i).Interface().(tea.Cmd)()
		k, ok := msg.(tea.KeyMsg)
		if !ok {
			t.Fatalf("message %d is %T, want a key", i, msg)
		}
		got = append(got, k.String())
		next, _ := m.Update(k)
		m = next.(Model)
	}
	if strings.Join(got, " ") != "? q" {
		t.Fatalf("keys %q, want ? then q", got)
	}
	if !m.help.ShowAll || !m.quitting {
		t.Errorf("after ? and q: full help %v, quitting %v; want both", m.help.ShowAll, m.quitting)
	}
	keys := typedKeys([]byte("?q\x1b[A"))
	if len(keys) != 2 || keys[0].String() != "?" || keys[1].String() != "q" {
		t.Fatalf("typedKeys = %v, want ? and q, the escape sequence left out", keys)
	}
}

// m runs the network check: each pane shows its address, and the matrix
// shows every path, with its round trip or why it failed.
func TestNetCheckShowsAddressesAndMatrix(t *testing.T) {
	res := compare.NetResults{Network: "twinboot-7-0", Subnet: "10.88.0.0/24", LabHost: "10.88.0.1",
		Sides: []compare.NetSide{
			{Side: "vm", Hostname: "twinboot-vm", Addr: "10.88.0.2/24"},
			{Side: "container", Hostname: "twinboot-ct", Addr: "10.88.0.3/24"},
		},
		Paths: []compare.NetPath{
			{From: compare.NodeLabHost, To: compare.NodeVM, OK: true, NetBench: report.NetBench{RTTP50us: 2500, StreamMBps: 3.5}},
			{From: compare.NodeLabHost, To: compare.NodeContainer, OK: true, NetBench: report.NetBench{RTTP50us: 600, StreamMBps: 50}},
			{From: compare.NodeVM, To: compare.NodeContainer, OK: true, NetBench: report.NetBench{RTTP50us: 2400, StreamMBps: 4}},
			{From: compare.NodeContainer, To: compare.NodeVM, NetBench: report.NetBench{Error: "connection refused"}},
		}}
	eng := &scripted{net: []event.Event{event.Log{Msg: "lab network: checking"}, compare.NetDone{Results: res}}}
	m := testModel(t, eng, 140, 44)
	m.vm.phases = []event.Phase{{Side: event.VM, Name: "READY seen"}} // a run before
	m, cmd := press(m, "m")
	if len(m.vm.phases) != 0 {
		t.Errorf("the VM pane keeps the last run's phases under the check's: %v", m.vm.phases)
	}
	if m.job == nil || m.job.kind != jobNet {
		t.Fatalf("m did not start the network check: %+v", m.job)
	}
	m, _ = drive(t, m, cmd)
	v := m.View()
	for _, want := range []string{"10.88.0.2/24 (twinboot-vm)", "10.88.0.3/24 (twinboot-ct)", "lab network twinboot-7-0",
		"lab host  → VM", "2.5 ms (p50)", "lab host  → container", "600 µs (p50)", "VM        → container",
		"container → VM", "FAILED  connection refused", "network check finished"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	// The round trips join the comparison strip, with their ratio.
	strip := m.stripView(140, false)
	for _, want := range []string{"round trip  lab host → VM", "→ container", "VM/container: 4.17×"} {
		if !strings.Contains(strip, want) {
			t.Errorf("comparison strip lacks %q:\n%s", want, strip)
		}
	}
	if compact := m.stripView(80, true); !strings.Contains(compact, "net rtt") {
		t.Errorf("compact strip lacks the round trips:\n%s", compact)
	}
}

package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/lab"
)

// Options configures the lab.
type Options struct {
	Info      Info
	BenchRuns int    // runs made by `b`; 10 when zero
	ExportDir string // where `e` writes; the engine creates it
	Lang      string // lessons language, "en" when empty
	Lessons   LessonSource
	// Renderer decides colours. Nil means lipgloss's default, which follows
	// the terminal and NO_COLOR; tests pass one with a fixed profile.
	Renderer *lipgloss.Renderer
	// AutoRun starts a run as soon as the lab opens.
	AutoRun bool
	// FleetVMs and FleetContainers are what `f` starts (4 and 8 when
	// zero).
	FleetVMs, FleetContainers int
}

// Model is the lab's bubbletea model.
type Model struct {
	engine lab.Engine
	opts   Options
	jobs   *jobs
	st     styles
	keys   keyMap
	help   help.Model

	width, height int

	vm, ct   sideState
	selected event.Side // the side `s` opens a shell in

	runInfo  compare.RunStarted
	lastRun  *compare.Run
	results  *compare.Results
	emulated bool
	mode     string

	bench benchState
	// net is the last network check's results (m): each side's address
	// and the reachability matrix.
	net *compare.NetResults

	job     *job
	pending jobKind // started when the current job has finished
	status  string  // last remark for the user (export paths, errors, logs)
	errLine string  // last failure not tied to a side

	lessons lessonsState
	fleet   fleetState

	quitting bool
}

// benchState follows `b`: how far it is and what it measured so far.
type benchState struct {
	active      bool
	done, total int
	vmReady     []float64 // ns, one per finished non-warm-up run
	ctReady     []float64
	stats       []compare.Stat
}

// New builds the lab's model. ctx bounds every engine call the lab makes.
func New(ctx context.Context, engine lab.Engine, opts Options) Model {
	if opts.BenchRuns <= 0 {
		opts.BenchRuns = 10
	}
	if opts.Lang == "" {
		opts.Lang = "en"
	}
	if opts.FleetVMs <= 0 {
		opts.FleetVMs = defaultFleetVMs
	}
	if opts.FleetContainers <= 0 {
		opts.FleetContainers = defaultFleetContainers
	}
	m := Model{
		engine:   engine,
		opts:     opts,
		jobs:     newJobs(ctx),
		st:       newStyles(opts.Renderer),
		keys:     newKeyMap(),
		vm:       newSideState(event.VM),
		ct:       newSideState(event.Container),
		selected: event.VM,
		emulated: opts.Info.Emulated,
		mode:     opts.Info.Mode,
		width:    120,
		height:   40,
	}
	m.help = m.st.help()
	m.fleet = newFleetState(m.keys.Quit)
	if r := opts.Info.ModeReason; r != "" {
		m.status = "mode " + opts.Info.Mode + ": " + r
	}
	m.lessons = newLessons(opts.Lessons, opts.Lang)
	return m
}

// Init starts the first run when asked to. The first frame does not wait for
// it: the engine runs in its own goroutine and its events arrive as messages.
func (m Model) Init() tea.Cmd {
	if m.opts.AutoRun {
		return func() tea.Msg { return startMsg{kind: jobRun} }
	}
	return nil
}

// startMsg asks the model to start a job (used by Init, which cannot change
// the model itself).
type startMsg struct{ kind jobKind }

// shellReadyMsg carries a prepared shell; shellDoneMsg its end.
type shellReadyMsg struct {
	side event.Side
	cmd  lab.Shell
	err  error
}

type shellDoneMsg struct {
	side   event.Side
	err    error
	unread []byte // keys typed as the shell ended (lab.Unreader)
}

// Update folds one message into the model.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m, nil
	case tea.KeyMsg:
		return m.key(msg)
	case startMsg:
		return m, m.start(msg.kind)
	case eventMsg:
		if m.job != nil && msg.j == m.job {
			m.apply(msg.ev)
		}
		return m, listen(msg.j)
	case jobDoneMsg:
		return m.jobDone(msg)
	case shellReadyMsg:
		if msg.err != nil {
			m.status = fmt.Sprintf("shell in the %s: %v", sideName(msg.side), msg.err)
			return m, nil
		}
		c := &bannerShell{Shell: msg.cmd, side: msg.side}
		return m, tea.Exec(c, func(err error) tea.Msg {
			done := shellDoneMsg{side: msg.side, err: err}
			if u, ok := msg.cmd.(lab.Unreader); ok {
				done.unread = u.Unread()
			}
			return done
		})
	case shellDoneMsg:
		if msg.err != nil {
			m.status = fmt.Sprintf("shell in the %s ended: %v", sideName(msg.side), msg.err)
		} else {
			m.status = fmt.Sprintf("shell in the %s closed", sideName(msg.side))
		}
		// A key pressed as the shell handed the terminal back is the
		// lab's: act on it, in the order it was typed.
		var replay []tea.Cmd
		for _, k := range typedKeys(msg.unread) {
			replay = append(replay, func() tea.Msg { return k })
		}
		if len(replay) == 0 {
			return m, nil
		}
		return m, tea.Sequence(replay...)
	}
	return m, nil
}

func (m Model) key(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	if m.quitting {
		return m, nil // already stopping; the engine's cleanup decides when
	}
	switch {
	case key.Matches(msg, k.Quit):
		m.quitting = true
		m.pending = jobNone
		if m.job == nil {
			return m, tea.Quit
		}
		m.job.cancel()
		return m, nil
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
	case key.Matches(msg, k.Rerun):
		return m, m.start(jobRun)
	case key.Matches(msg, k.Bench):
		return m, m.start(jobBench)
	case key.Matches(msg, k.Net):
		return m, m.start(jobNet)
	case key.Matches(msg, k.Side):
		if m.selected == event.VM {
			m.selected = event.Container
		} else {
			m.selected = event.VM
		}
	case key.Matches(msg, k.Shell):
		if m.job != nil {
			m.status = fmt.Sprintf("a %s is in progress: wait for it to finish before opening a shell", m.job.kind)
			return m, nil
		}
		side, ctx, eng := m.selected, m.jobs.ctx, m.engine
		m.status = fmt.Sprintf("opening a shell in the %s…", sideName(side))
		return m, func() tea.Msg {
			c, err := eng.Shell(ctx, side)
			return shellReadyMsg{side: side, cmd: c, err: err}
		}
	case key.Matches(msg, k.Export):
		return m, m.start(jobExport)
	case key.Matches(msg, k.Fleet):
		return m, m.start(jobFleet)
	case key.Matches(msg, m.fleet.keys.Stop):
		if m.job != nil && m.job.kind == jobFleet {
			m.job.cancel()
			m.status = "stopping the fleet: every VM and container is being stopped and removed…"
		} else {
			m.status = "no fleet is running: press f to start one"
		}
	case key.Matches(msg, k.Lessons):
		m.lessons.open = !m.lessons.open
	case key.Matches(msg, k.Language):
		m.lessons.switchLang()
	case key.Matches(msg, k.Next):
		if m.lessons.open {
			m.lessons.move(1)
		}
	case key.Matches(msg, k.Prev):
		if m.lessons.open {
			m.lessons.move(-1)
		}
	case key.Matches(msg, k.Down):
		if m.lessons.open {
			m.lessons.scroll++
		}
	case key.Matches(msg, k.Up):
		if m.lessons.open && m.lessons.scroll > 0 {
			m.lessons.scroll--
		}
	case msg.Type == tea.KeyEsc:
		m.lessons.open = false
		m.help.ShowAll = false
		m.fleet.open = false
	}
	return m, nil
}

// start begins a job, or queues it behind the one running: the engine gets
// one experiment at a time, and a re-run first cancels the run in progress
// and waits for its cleanup.
func (m *Model) start(kind jobKind) tea.Cmd {
	if m.job != nil {
		if kind == jobExport {
			m.status = fmt.Sprintf("a %s is in progress: export when it has finished", m.job.kind)
			return nil
		}
		m.pending = kind
		m.job.cancel()
		m.status = fmt.Sprintf("stopping the current %s…", m.job.kind)
		return nil
	}
	eng := m.engine
	var fn func(ctx context.Context, sink event.Sink) ([]string, error)
	switch kind {
	case jobRun:
		fn = func(ctx context.Context, sink event.Sink) ([]string, error) { return nil, eng.Run(ctx, sink) }
		m.bench = benchState{}
		m.status = "running the VM and the container…"
	case jobBench:
		runs := m.opts.BenchRuns
		fn = func(ctx context.Context, sink event.Sink) ([]string, error) { return nil, eng.Bench(ctx, runs, sink) }
		m.bench = benchState{active: true, total: runs}
		m.status = fmt.Sprintf("benchmarking %d runs…", runs)
	case jobFleet:
		vms, cts := m.opts.FleetVMs, m.opts.FleetContainers
		fn = func(ctx context.Context, sink event.Sink) ([]string, error) {
			return nil, eng.Fleet(ctx, vms, cts, sink)
		}
		m.fleet.reset(vms, cts)
		m.lessons.open = false
		m.status = fmt.Sprintf("starting %d VMs and %d containers at once; x stops them all", vms, cts)
	case jobNet:
		fn = func(ctx context.Context, sink event.Sink) ([]string, error) { return nil, eng.Net(ctx, sink) }
		m.net = nil
		// Both sides boot again for the check: their panes show that boot,
		// not the phases of the last run followed by this one's.
		m.vm.reset()
		m.ct.reset()
		m.status = "putting the VM and the container on one lab network and checking every path…"
	case jobExport:
		if m.results == nil {
			m.status = "nothing to export yet: press r and wait for the run to finish"
			return nil
		}
		res, dir := *m.results, m.opts.ExportDir
		fn = func(ctx context.Context, _ event.Sink) ([]string, error) { return eng.Export(ctx, res, dir) }
		m.status = "exporting…"
	default:
		return nil
	}
	m.errLine = ""
	j, cmd := m.jobs.start(kind, fn)
	m.job = j
	return cmd
}

func (m Model) jobDone(msg jobDoneMsg) (tea.Model, tea.Cmd) {
	if msg.j != m.job {
		return m, nil
	}
	m.job = nil
	m.bench.active = false
	if msg.j.kind == jobFleet {
		m.fleet.running = false
	}
	switch {
	case msg.err != nil && errors.Is(msg.err, context.Canceled):
		m.status = fmt.Sprintf("%s stopped", msg.j.kind)
	case msg.err != nil:
		m.status = fmt.Sprintf("%s failed: %v", msg.j.kind, msg.err)
	case msg.j.kind == jobExport:
		m.status = exportStatus(m.opts.ExportDir, msg.files)
	default:
		m.status = fmt.Sprintf("%s finished", msg.j.kind)
	}
	if m.quitting {
		return m, tea.Quit
	}
	if next := m.pending; next != jobNone {
		m.pending = jobNone
		return m, m.start(next)
	}
	return m, nil
}

func exportStatus(dir string, files []string) string {
	if len(files) == 0 {
		return "export wrote no files"
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = strings.TrimPrefix(strings.TrimPrefix(f, dir), "/")
	}
	// The directory first: a long list of names is cut at the screen's edge.
	return fmt.Sprintf("exported %d files to %s (%s)", len(files), dir, strings.Join(names, ", "))
}

// Busy reports whether an engine call is in progress (for tests and the
// end-to-end driver).
func (m Model) Busy() bool { return m.job != nil }

// wait blocks until every engine call the model started has returned, at
// most d. It reports whether they all did.
func (js *jobs) wait(d time.Duration) bool {
	done := make(chan struct{})
	go func() { js.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

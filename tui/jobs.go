package tui

import (
	"context"
	"sync"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/twinboot/twinboot/internal/event"
)

// jobKind is what the engine is doing for the lab.
type jobKind int

const (
	jobNone jobKind = iota
	jobRun
	jobBench
	jobExport
	jobFleet
	jobNet
)

func (k jobKind) String() string {
	switch k {
	case jobRun:
		return "run"
	case jobBench:
		return "bench"
	case jobExport:
		return "export"
	case jobFleet:
		return "fleet"
	case jobNet:
		return "network check"
	}
	return "idle"
}

// job is one engine call running in its own goroutine. Its events come back
// to the model as messages through ch, one at a time, so the screen redraws
// as they arrive and the engine never touches the model.
type job struct {
	id     int
	kind   jobKind
	cancel context.CancelFunc
	ch     chan tea.Msg
}

// eventMsg carries one engine event of job j.
type eventMsg struct {
	j  *job
	ev event.Event
}

// jobDoneMsg says that job j's engine call returned: its cleanup is done.
type jobDoneMsg struct {
	j     *job
	files []string // export: the files written
	err   error
}

// jobs is shared by every copy of the model (bubbletea passes models by
// value): the wait group lets Run wait for the engine's cleanup after the
// program ends, and stopped unblocks job goroutines once nobody reads their
// messages any more.
type jobs struct {
	ctx     context.Context
	wg      sync.WaitGroup
	stopped chan struct{}
	once    sync.Once
	nextID  int
}

func newJobs(ctx context.Context) *jobs {
	return &jobs{ctx: ctx, stopped: make(chan struct{})}
}

// stop tells job goroutines that the program no longer reads their output.
func (js *jobs) stop() { js.once.Do(func() { close(js.stopped) }) }

// start runs fn in a goroutine with a cancellable context and returns the job
// and the command that delivers its first message.
func (js *jobs) start(kind jobKind, fn func(ctx context.Context, sink event.Sink) ([]string, error)) (*job, tea.Cmd) {
	ctx, cancel := context.WithCancel(js.ctx)
	js.nextID++
	j := &job{id: js.nextID, kind: kind, cancel: cancel, ch: make(chan tea.Msg, 64)}
	js.wg.Add(1)
	go func() {
		defer js.wg.Done()
		defer cancel()
		sink := func(ev event.Event) {
			select {
			case j.ch <- eventMsg{j: j, ev: ev}:
			case <-ctx.Done(): // quitting or re-running: nobody wants it
			case <-js.stopped:
			}
		}
		files, err := fn(ctx, sink)
		select {
		case j.ch <- jobDoneMsg{j: j, files: files, err: err}:
		case <-js.stopped:
		}
	}()
	return j, listen(j)
}

// listen waits for job j's next message.
func listen(j *job) tea.Cmd {
	return func() tea.Msg { return <-j.ch }
}

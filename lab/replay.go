package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/internal/event"
)

// ErrReplay is returned by a Replay for what only a live engine can do.
var ErrReplay = errors.New("not possible in a replay")

// ReadStream decodes a recorded event stream, one JSON line per event (the
// format of event.Write). Blank lines are skipped.
func ReadStream(r io.Reader) ([]event.Event, error) {
	var evs []event.Event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024) // a Finished event carries every run
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		ev, err := event.Decode(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("event stream line %d: %w", n, err)
		}
		evs = append(evs, ev)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read event stream: %w", err)
	}
	return evs, nil
}

// Replay is an Engine that plays back a recorded stream: for demos on a
// machine that cannot run the lab, and for driving the real binary in tests.
// It never pretends to boot anything: the lab's header says "replay", and
// shells and benchmarks fail with ErrReplay.
type Replay struct {
	Source string        // where the stream came from, shown on screen
	Events []event.Event // played in order by Run
	Delay  time.Duration // pause between events, so the screen visibly fills in
}

// Run plays the events, stopping early when ctx is cancelled.
func (r *Replay) Run(ctx context.Context, sink event.Sink) error {
	for _, ev := range r.Events {
		if r.Delay > 0 {
			t := time.NewTimer(r.Delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		} else if err := ctx.Err(); err != nil {
			return err
		}
		sink.Emit(ev)
	}
	return nil
}

func (r *Replay) Bench(context.Context, int, event.Sink) error {
	return fmt.Errorf("bench: %w of %s (run the lab on a machine with the engine)", ErrReplay, r.Source)
}

// Net replays too: a recorded stream holds NetDone when its run had one.
func (r *Replay) Net(ctx context.Context, sink event.Sink) error {
	for _, ev := range r.Events {
		if _, ok := ev.(compare.NetDone); ok {
			return r.Run(ctx, sink)
		}
	}
	return fmt.Errorf("network check: %w of %s, which holds none", ErrReplay, r.Source)
}

func (r *Replay) Shell(context.Context, event.Side) (Shell, error) {
	return nil, fmt.Errorf("%w of %s: no VM or container is running", ErrReplay, r.Source)
}

// Export writes the recorded results, as a live engine would: they are
// real figures, measured when the stream was recorded.
func (r *Replay) Export(_ context.Context, res compare.Results, dir string) ([]string, error) {
	return Export(res, dir)
}

// Recorder wraps an engine and writes every event of Run and Bench to W as
// JSON lines, so that a real session can become a test fixture or a demo.
type Recorder struct {
	Engine
	W io.Writer

	mu  sync.Mutex
	err error
}

func (r *Recorder) sink(next event.Sink) event.Sink {
	return func(ev event.Event) {
		r.mu.Lock()
		if r.err == nil {
			r.err = event.Write(r.W, ev)
		}
		r.mu.Unlock()
		next.Emit(ev)
	}
}

func (r *Recorder) Run(ctx context.Context, sink event.Sink) error {
	return r.Engine.Run(ctx, r.sink(sink))
}

func (r *Recorder) Bench(ctx context.Context, runs int, sink event.Sink) error {
	return r.Engine.Bench(ctx, runs, r.sink(sink))
}

func (r *Recorder) Net(ctx context.Context, sink event.Sink) error {
	return r.Engine.Net(ctx, r.sink(sink))
}

// Err reports the first write error, if any.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

package container

import (
	"bytes"
	"io"
	"sync"
	"time"

	"github.com/twinboot/twinboot/internal/event"
)

// lineWriter receives a container's stdout or stderr. It passes the bytes on
// unchanged, emits each complete line as an event.Console, and hands every
// line to onLine (which looks for the READY report).
type lineWriter struct {
	mu     sync.Mutex
	out    io.Writer // may be nil
	events event.Sink
	onLine func(string)
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.out != nil {
		if _, err := w.out.Write(p); err != nil {
			// A broken downstream must not kill the container or hide its
			// READY line: stop forwarding, keep scanning.
			w.out = nil
		}
	}
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(string(w.buf[:i+1]))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// flush delivers a last line that had no newline.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.line(string(w.buf))
		w.buf = nil
	}
}

func (w *lineWriter) line(s string) {
	w.events.Emit(event.Console{Side: event.Container, Text: s})
	if w.onLine != nil {
		w.onLine(s)
	}
}

// phases collects the run's phases from several goroutines and emits each
// as it completes.
type phases struct {
	mu     sync.Mutex
	t0     int64
	list   []event.Phase
	events event.Sink
}

func (p *phases) mark(name string, mono int64) {
	ev := event.Phase{Side: event.Container, Name: name, At: durationNS(mono - p.t0)}
	p.mu.Lock()
	p.list = append(p.list, ev)
	p.mu.Unlock()
	p.events.Emit(ev)
}

func (p *phases) get() []event.Phase {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := append([]event.Phase(nil), p.list...)
	// Phases reported by the init and by the output reader arrive on
	// different goroutines; present them in time order.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].At < out[j-1].At; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func durationNS(ns int64) time.Duration { return time.Duration(ns) }

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/host"
)

// runExperiment is what run and bench share: decide the mode, run the
// experiment here or in L1 (lab.Experiment) with a status line on a
// terminal, and return the results either way.
func runExperiment(cmd *cobra.Command, e *experimentFlags, mode string) (compare.Results, error) {
	d, err := host.Decide(mode)
	if err != nil {
		return compare.Results{}, usageError{err}
	}
	x, err := e.experiment(cmd.Name(), d)
	if err != nil {
		return compare.Results{}, err
	}
	ctx, stop := signalContext()
	defer stop()
	status := newStatusLine(cmd.ErrOrStderr())
	defer status.done()
	res, err := x.Run(ctx, d, status.sink)
	if errors.Is(err, context.Canceled) {
		return res, interrupted(cmd.ErrOrStderr(), err)
	}
	return res, err
}

// statusLine shows what the experiment is doing on one rewritten line of a
// terminal, and nothing at all when stderr is a file or a pipe: scripts and
// CI logs get only the results and errors.
type statusLine struct {
	w    io.Writer
	tty  bool
	mu   sync.Mutex
	text string
	bar  string
}

func newStatusLine(w io.Writer) *statusLine {
	s := &statusLine{w: w}
	if f, ok := w.(*os.File); ok {
		_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
		s.tty = err == nil
	}
	return s
}

func (s *statusLine) sink(ev event.Event) {
	if !s.tty {
		return
	}
	switch e := ev.(type) {
	case event.Progress:
		const width = 24
		filled := 0
		if e.Total > 0 {
			filled = width * e.Done / e.Total
		}
		s.set(&s.bar, fmt.Sprintf("%s [%s%s] %d/%d", e.What, strings.Repeat("#", filled), strings.Repeat("-", width-filled), e.Done, e.Total))
	case compare.RunStarted:
		what := fmt.Sprintf("run %d/%d", e.Index+1, e.Total)
		if e.Warmup {
			what += " (warmup)"
		}
		s.set(&s.text, what)
	case event.Phase:
		s.set(&s.text, fmt.Sprintf("%s: %s", e.Side, e.Name))
	case event.Log:
		s.set(&s.text, e.Msg)
	}
}

func (s *statusLine) set(field *string, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*field = v
	line := strings.TrimSpace(s.bar + "  " + s.text)
	if len(line) > 110 {
		line = line[:110]
	}
	fmt.Fprintf(s.w, "\r\033[K%s", line)
}

// done clears the line so that what follows starts clean.
func (s *statusLine) done() {
	if s.tty {
		fmt.Fprintf(s.w, "\r\033[K")
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/hypervisor"
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
		return res, interrupted(ctx, cmd.ErrOrStderr(), err)
	}
	if err != nil && timedOut(res) {
		return res, exitError{code: exitTimeout, err: err}
	}
	return res, err
}

// timedOut says whether a side of the results ran out of its --timeout.
func timedOut(res compare.Results) bool {
	for _, r := range res.Runs {
		for _, s := range []*compare.Side{r.VM, r.Container} {
			if s != nil && (s.Reason == string(hypervisor.ReasonTimeout) || s.Reason == container.ReasonTimeout) {
				return true
			}
		}
	}
	return false
}

// statusLine shows what the experiment is doing on one rewritten line of a
// terminal, and nothing at all when stderr is a file or a pipe: scripts and
// CI logs get only the results and errors.
type statusLine struct {
	w     io.Writer
	tty   bool
	mu    sync.Mutex
	text  string
	bar   string
	start time.Time
	clock string // elapsed, and an estimate of what is left once a run has ended
}

func newStatusLine(w io.Writer) *statusLine {
	s := &statusLine{w: w, start: time.Now()}
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
		s.mu.Lock()
		s.clock = estimate(time.Since(s.start), e.Index, e.Total)
		s.mu.Unlock()
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
	line := strings.TrimSpace(s.bar + "  " + s.text + "  " + s.clock)
	if len(line) > 110 {
		line = line[:110]
	}
	fmt.Fprintf(s.w, "\r\033[K%s", line)
}

// estimate says how long the work has taken and, once some of it is done,
// how long the rest should take at the same pace.
func estimate(elapsed time.Duration, done, total int) string {
	e := elapsed.Round(time.Second)
	if done <= 0 || total <= done {
		return fmt.Sprintf("%s elapsed", e)
	}
	left := time.Duration(float64(elapsed) / float64(done) * float64(total-done)).Round(time.Second)
	return fmt.Sprintf("%s elapsed, ~%s left", e, left)
}

// done clears the line so that what follows starts clean.
func (s *statusLine) done() {
	if s.tty {
		fmt.Fprintf(s.w, "\r\033[K")
	}
}

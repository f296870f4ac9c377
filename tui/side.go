package tui

import (
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/internal/event"
)

// consoleLines is how much console the lab keeps per side. A VM's serial
// console in a quiet boot is a few dozen lines; the cap only stops a chatty
// guest from growing memory without bound.
const consoleLines = 200

// sideState is everything the lab knows about one side (VM or container)
// during the current run, folded from events.
type sideState struct {
	side    event.Side
	console []string // complete lines, oldest first, at most consoleLines
	partial string   // bytes after the last newline
	phases  []event.Phase
	readyAt time.Duration // from a phase named "READY seen"-like, before SideDone
	done    *compare.Side // the finished measurement, nil while running
	failure string
	// last is the previous run's phases: a re-run shows them as the steps
	// still to come, with their old times, so the timeline visibly fills in.
	last []event.Phase
}

func newSideState(s event.Side) sideState { return sideState{side: s} }

// reset forgets the previous run but keeps which side this is and, as the
// outline of the next timeline, the phases it went through.
func (s *sideState) reset() {
	last := s.last
	if len(s.phases) > 0 {
		last = s.phases
	}
	*s = newSideState(s.side)
	s.last = last
}

// pending lists the previous run's phases not reached yet in this one.
func (s *sideState) pending() []event.Phase {
	seen := map[string]bool{}
	for _, p := range s.phases {
		seen[p.Name] = true
	}
	var out []event.Phase
	for _, p := range s.last {
		if !seen[p.Name] {
			out = append(out, p)
		}
	}
	return out
}

// addConsole appends console text. Serial output arrives in arbitrary
// chunks, with \r\n line ends and sometimes escape sequences; only printable
// text is kept so that a guest cannot move the lab's cursor.
func (s *sideState) addConsole(text string) {
	text = s.partial + text
	lines := strings.Split(text, "\n")
	s.partial = lines[len(lines)-1]
	for _, l := range lines[:len(lines)-1] {
		s.console = append(s.console, cleanLine(l))
	}
	if n := len(s.console); n > consoleLines {
		s.console = append(s.console[:0:0], s.console[n-consoleLines:]...)
	}
}

// tail returns the last n console lines, including a pending partial line.
func (s *sideState) tail(n int) []string {
	lines := s.console
	if s.partial != "" {
		lines = append(lines[:len(lines):len(lines)], cleanLine(s.partial))
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

func cleanLine(l string) string {
	l = ansi.Strip(l)
	l = strings.ReplaceAll(l, "\t", "    ")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, l)
}

func (s *sideState) addPhase(p event.Phase) {
	s.phases = append(s.phases, p)
	if isReadyPhase(p.Name) {
		s.readyAt = p.At
	}
}

// isReadyPhase recognises the last phase of a side, "READY seen" (the host
// saw the probe's READY line; hypervisor.PhaseReady, container.PhaseReady),
// so the card can show the time before the side's full measurement
// arrives. Upper case only: "cgroup ready" is an earlier phase.
func isReadyPhase(name string) bool { return strings.Contains(name, "READY") }

// ready reports the time to READY, from the final measurement if there is
// one, and whether it is known.
func (s *sideState) ready() (time.Duration, bool) {
	if s.done != nil && s.done.ReadyNS > 0 {
		return time.Duration(s.done.ReadyNS), true
	}
	if s.readyAt > 0 {
		return s.readyAt, true
	}
	return 0, false
}

// kernelRelease is what the side's probe saw from inside, if it reported.
func (s *sideState) kernelRelease() string {
	if s.done != nil && s.done.Report != nil {
		return s.done.Report.KernelRelease
	}
	return ""
}

// missing is what a figure shows while it is not known: still coming, or
// never coming because the side failed.
func (s *sideState) missing() string {
	if s.failure != "" || (s.done != nil && s.done.Error != "") {
		return "failed"
	}
	if s.done != nil {
		return "not reported"
	}
	return "waiting…"
}

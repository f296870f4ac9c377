package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinboot/twinboot/internal/event"
)

// paneView renders one side in a box of exactly w×h cells: title, kernel
// badge, metric cards, phase timeline, and as much console as fits.
func (m Model) paneView(s *sideState, w, h int, compact bool) string {
	inner := max(w-4, 10) // border and padding
	rows := max(h-2, 1)

	style := m.st.pane
	title := "Virtual machine"
	if s.side == event.Container {
		title = "Container"
	}
	head := m.mark(lookShell, m.st.accent(string(s.side)).Render(title))
	if a := m.netAddr(s.side); a != "" {
		head += m.st.dim.Render(" · ") + m.st.bold.Render(a)
	}
	if m.selected == s.side {
		style = m.st.selected
		head += m.st.bold.Render(" ▶ selected") + m.st.dim.Render(" (s: shell, tab: switch)")
	}

	lines := []string{ansi.Truncate(head, inner, "…"), m.badge(s, inner)}
	if s.failure != "" {
		lines = append(lines, m.st.fail.Width(inner).Render("FAILED: "+s.failure))
	}
	// The cards need six rows under the title and badge. A pane that would
	// then have fewer than six rows left for the timeline and the console
	// (squeezed by a short terminal, the full help or the lessons) gets the
	// three-line form instead: the live console matters more than boxes.
	if compact || rows-len(lines)-6 < 6 {
		lines = append(lines, m.compactMetrics(s, inner)...)
	} else {
		lines = append(lines, m.cards(s, inner))
	}
	top := strings.Join(lines, "\n")
	left := rows - lipgloss.Height(top)

	// Phases first (they are the lesson), the console gets what remains but
	// at least two lines when the pane allows it.
	phases := m.phaseLines(s, inner)
	room := left - 1
	if left > 5 {
		room = left - 3 // keep console header + 2 lines
	}
	if len(phases) > room {
		phases = phases[len(phases)-max(room, 0):]
	}
	body := []string{top}
	if len(phases) > 0 {
		body = append(body, strings.Join(phases, "\n"))
		left -= len(phases)
	} else if left > 2 {
		body = append(body, m.st.dim.Render("phases: waiting for the first event…"))
		left--
	}
	if left >= 2 {
		src := "serial console"
		if s.side == event.Container {
			src = "stdout/stderr"
		}
		body = append(body, ansi.Truncate(m.mark(lookConsole, m.st.dim.Render("── "+src+" "+strings.Repeat("─", max(inner-len(src)-4, 0)))), inner, ""))
		left--
		for _, l := range s.tail(left) {
			body = append(body, ansi.Truncate(l, inner, "…"))
		}
	}
	content := strings.Join(body, "\n")
	content = strings.Join(firstLines(content, rows), "\n")
	return style.Width(w - 2).Height(rows).MaxHeight(rows + 2).Render(content)
}

func firstLines(s string, n int) []string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return lines
}

// badge says in words whether this side runs on the host's kernel.
func (m Model) badge(s *sideState, w int) string {
	shared, known := m.kernelShared(s)
	label := "kernel shared with host: "
	var v string
	switch {
	case !known:
		v = m.st.dim.Render("not known yet")
	case shared:
		v = m.st.yes.Render("YES") + m.st.dim.Render(" (host kernel answers)")
	default:
		v = m.st.no.Render("NO") + m.st.dim.Render(" (boots its own kernel)")
	}
	return ansi.Truncate(m.mark(lookBadge, label+v), w, "…")
}

// kernelShared takes the engine's verdict from the finished run, and before
// that compares the probe's kernel release with the host's.
func (m Model) kernelShared(s *sideState) (shared, known bool) {
	if r := m.lastRun; r != nil && r.Kernel.HostRelease != "" {
		if s.side == event.VM {
			return r.Kernel.VMSameAsHost, r.Kernel.VMRelease != ""
		}
		return r.Kernel.ContainerSameAsHost, r.Kernel.ContainerRelease != ""
	}
	if rel := s.kernelRelease(); rel != "" && m.opts.Info.HostKernel != "" {
		return rel == m.opts.Info.HostKernel, true
	}
	return false, false
}

func (m Model) readyText(s *sideState) string {
	if d, ok := s.ready(); ok {
		return dur(d)
	}
	return s.missing()
}

// memoryLines are the side's memory figures as label/value pairs.
func (m Model) memoryLines(s *sideState) [][2]string {
	if s.done == nil {
		return [][2]string{{s.missing(), ""}}
	}
	mem := s.done.Memory
	var out [][2]string
	add := func(label string, v uint64) {
		if v > 0 {
			out = append(out, [2]string{label, sizeText(v)})
		}
	}
	if s.side == event.VM {
		add("configured", mem.ConfiguredBytes)
		add("touched", mem.TouchedBytes)
		add("overhead", mem.VMMOverheadBytes)
	} else {
		add("cgroup peak", mem.CgroupPeakBytes)
		add("RSS", mem.RSSBytes)
		add("PSS", mem.PSSBytes)
	}
	if len(out) == 0 {
		out = append(out, [2]string{"not measured", ""})
	}
	return out
}

func (m Model) releaseText(s *sideState) (string, string) {
	rel := s.kernelRelease()
	if rel == "" {
		return s.missing(), ""
	}
	shared, known := m.kernelShared(s)
	switch {
	case !known:
		return rel, ""
	case shared:
		return rel, "the host's"
	default:
		return rel, "its own"
	}
}

// cards are the three metric boxes: time to READY, memory, kernel release.
func (m Model) cards(s *sideState, w int) string {
	// Memory needs the widest card ("configured 64.0 MiB"); the other two
	// share the rest.
	memW := max(w*2/5, 21)
	restW := w - memW
	readyW := restW / 2
	kernW := restW - readyW

	card := func(width int, head string, body []string) string {
		cw := max(width-2, 4)
		for i, b := range body {
			body[i] = ansi.Truncate(b, cw, "…")
		}
		return m.st.card.Width(width - 2).Height(4).Render(m.st.cardHead.Render(ansi.Truncate(head, cw, "…")) + "\n" + strings.Join(body, "\n"))
	}

	readyBody := []string{m.st.bold.Render(m.readyText(s))}
	if _, ok := s.ready(); ok && m.emulated {
		readyBody = append(readyBody, m.st.dim.Render("emulated"))
	}
	if s.done != nil && s.done.Reason != "" {
		readyBody = append(readyBody, "end: "+s.done.Reason)
	}

	var memBody []string
	cw := max(memW-2, 4)
	for _, kv := range m.memoryLines(s) {
		pad := max(cw-ansi.StringWidth(kv[0])-ansi.StringWidth(kv[1]), 1)
		memBody = append(memBody, kv[0]+strings.Repeat(" ", pad)+kv[1])
	}
	rel, whose := m.releaseText(s)
	kernBody := wrapHard(rel, max(kernW-2, 4))
	if whose != "" {
		kernBody = append(kernBody, m.st.dim.Render(whose))
	}
	return lipgloss.JoinHorizontal(lipgloss.Top,
		card(readyW, m.mark(lookReady, "READY after"), readyBody),
		card(memW, m.mark(lookMemory, "memory"), memBody),
		card(kernW, m.mark(lookKernel, "kernel"), kernBody))
}

// wrapHard cuts s into lines of at most w cells, at most 2 lines: kernel
// releases have no spaces to wrap at.
func wrapHard(s string, w int) []string {
	var out []string
	for len(out) < 2 && s != "" {
		cut := ansi.Truncate(s, w, "")
		if cut == "" {
			break
		}
		out = append(out, cut)
		s = s[len(cut):]
	}
	if s != "" && len(out) > 0 {
		out[len(out)-1] = ansi.Truncate(out[len(out)-1]+s, w, "…")
	}
	return out
}

// compactMetrics are the cards as three plain lines for small terminals.
func (m Model) compactMetrics(s *sideState, w int) []string {
	var mem []string
	for _, kv := range m.memoryLines(s) {
		mem = append(mem, strings.TrimSpace(kv[0]+" "+kv[1]))
	}
	rel, whose := m.releaseText(s)
	if whose != "" {
		rel += " (" + whose + ")"
	}
	ready := m.st.bold.Render(m.readyText(s))
	if _, ok := s.ready(); ok && m.emulated {
		ready += " (emulated)"
	}
	return []string{
		ansi.Truncate(m.mark(lookReady, "READY   "+ready), w, "…"),
		ansi.Truncate(m.mark(lookMemory, "memory  "+strings.Join(mem, ", ")), w, "…"),
		ansi.Truncate(m.mark(lookKernel, "kernel  "+rel), w, "…"),
	}
}

// phaseLines is the timeline: each phase with its host time and a bar
// proportional to it, so the boot visibly fills in. Phases of the previous
// run not reached yet are listed dimmed, with their old time.
func (m Model) phaseLines(s *sideState, w int) []string {
	pending := s.pending()
	if len(s.phases) == 0 && len(pending) == 0 {
		return nil
	}
	var last time.Duration
	nameW := 0
	for _, p := range append(append([]event.Phase(nil), s.phases...), pending...) {
		last = max(last, p.At)
		nameW = max(nameW, ansi.StringWidth(p.Name))
	}
	nameW = min(nameW, w/2)
	timeW := 10
	if len(pending) > 0 {
		timeW = 15 // "last 2.51 s"
	}
	barW := max(w-nameW-timeW-4, 0)
	pad := func(name string) string {
		name = ansi.Truncate(name, nameW, "…")
		return name + strings.Repeat(" ", nameW-ansi.StringWidth(name))
	}
	out := make([]string, 0, len(s.phases)+len(pending))
	for _, p := range s.phases {
		frac := 0.0
		if last > 0 {
			frac = float64(p.At) / float64(last)
		}
		t := fmt.Sprintf("%*s", timeW, dur(p.At))
		out = append(out, "✓ "+pad(p.Name)+" "+m.st.accent(string(s.side)).Render(bar(frac, barW))+" "+t)
	}
	for _, p := range pending {
		t := fmt.Sprintf("%*s", timeW, "last "+dur(p.At))
		out = append(out, m.st.dim.Render("· "+pad(p.Name)+" "+strings.Repeat(" ", barW)+" "+t))
	}
	if mk := m.mark(lookPhases, ""); mk != "" && len(out) > 0 {
		// The mark takes the place of the space after the first tick, so
		// the line keeps its width and its time.
		for _, tick := range []string{"✓", "·"} {
			if strings.Contains(out[0], tick+" ") {
				out[0] = strings.Replace(out[0], tick+" ", tick+mk, 1)
				break
			}
		}
	}
	for i, l := range out {
		out[i] = ansi.Truncate(l, w, "")
	}
	return out
}

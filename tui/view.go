package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/twinboot/twinboot/internal/host"
)

// compactWidth and compactHeight: below either, the lab drops the metric
// cards' boxes and shortens the strip so that everything still fits.
const (
	compactWidth  = 100
	compactHeight = 30
)

// View renders the whole screen from the model's state. It does no I/O and
// reads no clock, so the same state always renders the same screen.
func (m Model) View() string {
	w, h := max(m.width, 40), max(m.height, 12)
	compact := w < compactWidth || h < compactHeight

	header := m.headerView(w)
	status := m.statusView(w)
	m.help.Width = w
	helpView := m.help.View(m.keys)
	if m.fleet.open {
		helpView = m.help.View(m.fleet.keys)
	}
	// With the lessons open the strip shrinks to its compact form: the
	// panel needs the rows, and the figures stay on screen.
	strip := m.stripView(w, compact || m.lessons.open)
	fixed := lipgloss.Height(header) + lipgloss.Height(strip) + lipgloss.Height(status) + lipgloss.Height(helpView)
	if nv := m.netView(w); nv != "" {
		fixed += lipgloss.Height(nv)
	}

	var lessons string
	if m.lessons.open {
		panesMin := 10 // borders, title, badge and the cards
		if compact {
			panesMin = 7
		}
		lh := min(m.lessonHeight(w), max(h-fixed-panesMin, 4))
		lessons = m.lessonsView(w, lh)
		fixed += lipgloss.Height(lessons)
	}

	paneH := max(h-fixed, 6)
	leftW := w / 2
	var panes string
	if m.fleet.open {
		panes = m.fleetView(w, paneH)
	} else {
		panes = lipgloss.JoinHorizontal(lipgloss.Top,
			m.paneView(&m.vm, leftW, paneH, compact),
			m.paneView(&m.ct, w-leftW, paneH, compact))
	}

	parts := []string{header, panes}
	if nv := m.netView(w); nv != "" {
		parts = append(parts, nv)
	}
	if lessons != "" {
		parts = append(parts, lessons)
	}
	parts = append(parts, strip, status, helpView)
	return clip(lipgloss.JoinVertical(lipgloss.Left, parts...), w, h)
}

// clip cuts the screen to the terminal so that a tiny window never makes the
// terminal scroll (which would leave stale frames behind).
func clip(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > w {
			lines[i] = ansi.Truncate(l, w, "")
		}
	}
	return strings.Join(lines, "\n")
}

func (m Model) headerView(w int) string {
	title := m.st.title.Render("twinboot lab") + m.st.dim.Render(" · one probe, booted as a VM and as a container")
	var info []string
	if m.mode != "" {
		info = append(info, "mode: "+m.mode)
	}
	if m.runInfo.Total > 0 {
		kind := "run"
		if m.runInfo.Warmup {
			kind = "warm-up run"
		}
		info = append(info, fmt.Sprintf("%s %d/%d", kind, m.runInfo.Index+1, m.runInfo.Total))
	}
	line := title
	if len(info) > 0 {
		line += m.st.dim.Render(" · " + strings.Join(info, " · "))
	}
	line = ansi.Truncate(line, w, "…")
	if m.opts.Info.Replay != "" {
		line = lipgloss.JoinVertical(lipgloss.Left, line,
			m.st.banner.Width(w).Render("REPLAY of "+m.opts.Info.Replay+": nothing is booting; these are recorded events."))
	}
	if !m.emulated && m.mode != host.ModeNested {
		return line
	}
	msg := "NESTED MODE: this host has no hardware virtualization, so the lab runs inside an emulated AMD-V machine (QEMU, software emulation). Every time shown is emulated: compare VM with container here, never with native figures."
	if w < 120 || m.height < 40 { // the long text costs rows a smaller screen needs
		msg = "NESTED MODE: no hardware virtualization here; the lab runs in an emulated AMD-V machine. All times are emulated."
	}
	// Wrap here, at spaces only: the wrappers also break at hyphens, and
	// "AMD-" / "V" on two lines reads badly. U+2011 is a one-cell
	// non-breaking hyphen, swapped back after wrapping.
	msg = strings.ReplaceAll(ansi.Wordwrap(strings.ReplaceAll(msg, "-", "\u2011"), w-2, ""), "\u2011", "-")
	return lipgloss.JoinVertical(lipgloss.Left, line, m.st.banner.Width(w).Render(msg))
}

func (m Model) statusView(w int) string {
	state := "idle"
	if m.job != nil {
		state = m.job.kind.String() + " in progress"
	}
	if m.quitting {
		state = "quitting: waiting for the engine to remove the VM and the container"
	}
	line := m.st.bold.Render("["+state+"]") + " " + m.st.status.Render(m.status)
	if m.errLine != "" {
		line += "  " + m.st.fail.Render("ERROR: "+m.errLine)
	}
	return ansi.Truncate(line, w, "…")
}

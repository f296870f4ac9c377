package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// lessonsView is the guided step: what to read, then what to try and where
// to look on the screen.
func (m Model) lessonsView(w int, compact bool) string {
	l := &m.lessons
	inner := max(w-4, 20)
	lang := "English · L: 한국어"
	if l.lang == "ko" {
		lang = "한국어 · L: English"
	}
	maxBody := 4
	if compact {
		maxBody = 1
	}
	var lines []string
	st, ok := l.step()
	switch {
	case l.err != "":
		lines = append(lines, m.st.title.Render("Lessons")+"  "+m.st.dim.Render(lang), m.st.fail.Render(l.err))
	case !ok:
		lines = append(lines, m.st.title.Render("Lessons")+"  "+m.st.dim.Render(lang), "no lessons")
	default:
		head := m.st.title.Render(l.lessons[l.li].Title+": "+st.Title) + "  " + m.st.dim.Render(l.position()+" · "+lang+" · n/p: step · l: close")
		lines = append(lines, ansi.Truncate(head, inner, "…"))
		lines = append(lines, wrapLines(st.Body, inner, maxBody)...)
		if st.TryIt != "" {
			try := m.st.bold.Render("▶ Try it: ")
			if l.lang == "ko" {
				try = m.st.bold.Render("▶ 해 보기: ")
			}
			lines = append(lines, wrapLines(try+flatten(st.TryIt), inner, 2)...)
		}
	}
	return m.st.lesson.Width(w - 2).Render(strings.Join(lines, "\n"))
}

// flatten joins Markdown paragraphs into one line for the panel.
func flatten(s string) string { return strings.Join(strings.Fields(s), " ") }

// wrapLines word-wraps s to w cells and keeps at most n lines, marking a cut
// with an ellipsis.
func wrapLines(s string, w, n int) []string {
	wrapped := ansi.Wordwrap(flatten(s), w, "")
	lines := strings.Split(ansi.Hardwrap(wrapped, w, true), "\n")
	if len(lines) > n {
		lines = lines[:n]
		lines[n-1] = ansi.Truncate(lines[n-1], w-1, "") + "…"
	}
	return lines
}

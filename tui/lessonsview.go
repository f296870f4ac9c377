package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// lessonsView is the guided step in a box of at most h lines: a heading,
// what to read, then what to try and where to look on the screen. A body
// longer than the box scrolls with j/k.
func (m Model) lessonsView(w, h int) string {
	l := &m.lessons
	inner := max(w-4, 20)
	rows := max(h-2, 2)
	lang := "English · L: 한국어"
	if l.lang == "ko" {
		lang = "한국어 · L: English"
	}
	var lines []string
	st, ok := l.step()
	switch {
	case l.err != "":
		lines = append(lines, m.st.title.Render("Lessons")+"  "+m.st.dim.Render(lang), m.st.fail.Render(l.err))
	case !ok:
		lines = append(lines, m.st.title.Render("Lessons")+"  "+m.st.dim.Render(lang), "no lessons")
	default:
		legend := ""
		if l.targets != 0 {
			legend = m.st.dim.Render(" · ") + m.st.look.Render("»") + m.st.dim.Render(" = look here")
		}
		head := m.st.title.Render(l.lessons[l.li].Title+": "+st.Title) + "  " +
			m.st.dim.Render(l.position()) + legend + m.st.dim.Render(" · "+lang+" · n/p: step · l: close")
		lines = append(lines, ansi.Truncate(head, inner, "…"))
		var try []string
		if st.TryIt != "" {
			label := "Try it: "
			if l.lang == "ko" {
				label = "해 보기: "
			}
			try = wrapText(m.st.bold.Render(label)+plainMarkdown(st.TryIt), inner)
			try = try[:min(len(try), max(rows-2, 1))]
		}
		body := wrapText(plainMarkdown(st.Body), inner)
		room := max(rows-1-len(try), 0)
		start := min(l.scroll, max(len(body)-room, 0))
		end := min(start+room, len(body))
		shown := body[start:end]
		if end < len(body) && len(shown) > 0 {
			shown[len(shown)-1] = ansi.Truncate(shown[len(shown)-1], inner-12, "…") + m.st.dim.Render(" (j: more)")
		}
		lines = append(lines, shown...)
		lines = append(lines, try...)
	}
	if len(lines) > rows {
		lines = lines[:rows]
	}
	return m.st.lesson.Width(w - 2).Render(strings.Join(lines, "\n"))
}

// lessonHeight is how many lines the panel would like: everything shown.
func (m Model) lessonHeight(w int) int {
	st, ok := m.lessons.step()
	if !ok {
		return 4
	}
	inner := max(w-4, 20)
	return 2 + 1 + len(wrapText(plainMarkdown(st.Body), inner)) + len(wrapText("Try it: "+plainMarkdown(st.TryIt), inner))
}

// plainMarkdown drops the emphasis markers a terminal cannot show, and joins
// the lines of each paragraph; paragraphs stay apart.
func plainMarkdown(s string) string {
	s = strings.NewReplacer("**", "", "*", "", "__", "").Replace(s)
	paras := strings.Split(strings.TrimSpace(s), "\n\n")
	for i, p := range paras {
		paras[i] = strings.Join(strings.Fields(p), " ")
	}
	return strings.Join(paras, "\n")
}

// wrapText word-wraps s to w cells, keeping its line breaks.
func wrapText(s string, w int) []string {
	if s == "" {
		return nil
	}
	return strings.Split(ansi.Hardwrap(ansi.Wordwrap(s, w, ""), w, true), "\n")
}

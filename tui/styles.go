package tui

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
)

// styles are built from one renderer so that the whole screen agrees on the
// colour profile: the terminal's, NO_COLOR's (none), or a test's fixed one.
// Colour only ever repeats what the text already says.
type styles struct {
	r        *lipgloss.Renderer
	vm, ct   lipgloss.Color
	pane     lipgloss.Style
	selected lipgloss.Style
	title    lipgloss.Style
	card     lipgloss.Style
	cardHead lipgloss.Style
	dim      lipgloss.Style
	bold     lipgloss.Style
	yes      lipgloss.Style
	no       lipgloss.Style
	fail     lipgloss.Style
	banner   lipgloss.Style
	strip    lipgloss.Style
	lesson   lipgloss.Style
	status   lipgloss.Style
	look     lipgloss.Style
}

func newStyles(r *lipgloss.Renderer) styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	s := styles{r: r, vm: lipgloss.Color("75"), ct: lipgloss.Color("78")}
	border := lipgloss.RoundedBorder()
	s.pane = r.NewStyle().Border(border).BorderForeground(lipgloss.Color("240")).Padding(0, 1)
	s.selected = s.pane.BorderStyle(lipgloss.ThickBorder()).BorderForeground(lipgloss.Color("252"))
	s.title = r.NewStyle().Bold(true)
	s.card = r.NewStyle().Border(lipgloss.NormalBorder()).BorderForeground(lipgloss.Color("240"))
	s.cardHead = r.NewStyle().Foreground(lipgloss.Color("245"))
	s.dim = r.NewStyle().Foreground(lipgloss.Color("244"))
	s.bold = r.NewStyle().Bold(true)
	s.yes = r.NewStyle().Bold(true).Foreground(lipgloss.Color("78"))
	s.no = r.NewStyle().Bold(true).Foreground(lipgloss.Color("209"))
	s.fail = r.NewStyle().Bold(true).Foreground(lipgloss.Color("196"))
	s.banner = r.NewStyle().Bold(true).Foreground(lipgloss.Color("0")).Background(lipgloss.Color("214")).Padding(0, 1)
	s.strip = r.NewStyle().Border(border).BorderForeground(lipgloss.Color("240")).Padding(0, 1)
	s.lesson = r.NewStyle().Border(lipgloss.DoubleBorder()).BorderForeground(lipgloss.Color("141")).Padding(0, 1)
	s.status = r.NewStyle().Foreground(lipgloss.Color("252"))
	s.look = r.NewStyle().Bold(true).Foreground(lipgloss.Color("141"))
	return s
}

func (s styles) help() help.Model {
	h := help.New()
	h.Styles.ShortKey = s.r.NewStyle().Bold(true)
	h.Styles.FullKey = s.r.NewStyle().Bold(true)
	h.Styles.ShortDesc = s.dim
	h.Styles.FullDesc = s.dim
	h.Styles.ShortSeparator = s.dim
	h.Styles.FullSeparator = s.dim
	h.Styles.Ellipsis = s.dim
	return h
}

func (s styles) accent(side string) lipgloss.Style {
	if side == "vm" {
		return s.r.NewStyle().Bold(true).Foreground(s.vm)
	}
	return s.r.NewStyle().Bold(true).Foreground(s.ct)
}

package tui

import (
	"bytes"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"

	"github.com/twinboot/twinboot/lab"
)

// With the default renderer (Options.Renderer nil, as `twinboot lab` runs)
// the screen has colour when the terminal asks for it, and none under
// NO_COLOR, with the same text either way.
func TestNoColor(t *testing.T) {
	evs := stream(t, "run-nested.handwritten.jsonl")
	view := func() string {
		m := testModel(t, &lab.Replay{}, 120, 40)
		// What lipgloss.DefaultRenderer does, on a writer we can give.
		m.st = newStyles(lipgloss.NewRenderer(&bytes.Buffer{}))
		m.help = m.st.help()
		for _, ev := range evs {
			m.apply(ev)
		}
		return m.View()
	}
	t.Setenv("CLICOLOR_FORCE", "1")
	coloured := view()
	if !strings.Contains(coloured, "\x1b[") {
		t.Fatal("no colour even when forced: the test proves nothing")
	}
	t.Setenv("NO_COLOR", "1")
	plainView := view()
	if strings.Contains(plainView, "\x1b[") {
		t.Errorf("escape sequences under NO_COLOR:\n%q", plainView)
	}
	if got, want := lipgloss.Width(plainView), lipgloss.Width(coloured); got != want {
		t.Errorf("width %d under NO_COLOR, %d in colour", got, want)
	}
}

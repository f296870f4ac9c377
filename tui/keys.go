package tui

import (
	"unicode/utf8"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// keyMap is every key the lab answers to. The help bubble renders it, and
// Keys exports its key strings so that the lessons' tests can check that a
// key quoted in a lesson really exists.
type keyMap struct {
	Rerun    key.Binding
	Bench    key.Binding
	Shell    key.Binding
	Side     key.Binding
	Lessons  key.Binding
	Next     key.Binding
	Prev     key.Binding
	Down     key.Binding
	Up       key.Binding
	Export   key.Binding
	Fleet    key.Binding // the fleet view's own keys are in fleet.go
	Net      key.Binding
	Language key.Binding
	Help     key.Binding
	Quit     key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Rerun:    key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "re-run both")),
		Bench:    key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "bench N runs")),
		Shell:    key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "shell in selected side")),
		Side:     key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "select VM/container")),
		Lessons:  key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "lessons")),
		Next:     key.NewBinding(key.WithKeys("n", "right"), key.WithHelp("n/→", "next step")),
		Prev:     key.NewBinding(key.WithKeys("p", "left"), key.WithHelp("p/←", "previous step")),
		Down:     key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("j/↓", "scroll lesson")),
		Up:       key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("k/↑", "scroll back")),
		Export:   key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "export JSON/CSV/charts")),
		Fleet:    newFleetKeys().Start,
		Net:      key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "network check")),
		Language: key.NewBinding(key.WithKeys("L"), key.WithHelp("L", "English/한국어")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "more keys")),
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp is the one-line help under the screen.
func (k keyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Rerun, k.Bench, k.Shell, k.Lessons, k.Export, k.Help, k.Quit}
}

// FullHelp is shown when `?` is pressed.
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Rerun, k.Bench, k.Fleet, k.Net, k.Export},
		{k.Shell, k.Side},
		{k.Lessons, k.Next, k.Prev, k.Down, k.Up, k.Language},
		{k.Help, k.Quit},
	}
}

func (k keyMap) all() []key.Binding {
	f := newFleetKeys()
	return []key.Binding{k.Rerun, k.Bench, k.Shell, k.Side, k.Lessons, k.Next, k.Prev, k.Down, k.Up,
		k.Export, k.Net, k.Language, k.Help, k.Quit, f.Start, f.Stop}
}

// Keys lists every key string the lab answers to ("r", "tab", "ctrl+c", …),
// in bubbletea's spelling.
func Keys() []string {
	var out []string
	for _, b := range newKeyMap().all() {
		out = append(out, b.Keys()...)
	}
	return out
}

// typedKeys turns bytes a shell handed back (lab.Unreader) into the key
// messages bubbletea would have made of them: printable characters, Enter,
// Tab and Ctrl-C. From an escape byte on (an arrow key's sequence, maybe
// cut in half) the rest is left out rather than guessed.
func typedKeys(b []byte) []tea.KeyMsg {
	var out []tea.KeyMsg
	for _, r := range string(b) {
		switch {
		case r == '\r' || r == '\n':
			out = append(out, tea.KeyMsg{Type: tea.KeyEnter})
		case r == '\t':
			out = append(out, tea.KeyMsg{Type: tea.KeyTab})
		case r == 0x1b:
			return out
		case r == 0x03:
			out = append(out, tea.KeyMsg{Type: tea.KeyCtrlC})
		case r >= 0x20 && r != 0x7f && r != utf8.RuneError:
			out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
		}
	}
	return out
}

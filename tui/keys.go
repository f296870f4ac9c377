package tui

import "github.com/charmbracelet/bubbles/key"

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
		{k.Rerun, k.Bench, k.Net, k.Export},
		{k.Shell, k.Side},
		{k.Lessons, k.Next, k.Prev, k.Down, k.Up, k.Language},
		{k.Help, k.Quit},
	}
}

func (k keyMap) all() []key.Binding {
	return []key.Binding{k.Rerun, k.Bench, k.Shell, k.Side, k.Lessons, k.Next, k.Prev, k.Down, k.Up,
		k.Export, k.Net, k.Language, k.Help, k.Quit}
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

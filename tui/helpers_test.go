package tui

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/lab"
)

// stream reads a recorded (or, until the engine runs, hand-written) event
// stream from testdata.
func stream(t testing.TB, name string) []event.Event {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, err := lab.ReadStream(f)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// testLessons serves testdata/lessons.handwritten.json in both languages.
func testLessons(t testing.TB) LessonSource {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "lessons.handwritten.json"))
	if err != nil {
		t.Fatal(err)
	}
	var byLang map[string][]Lesson
	if err := json.Unmarshal(b, &byLang); err != nil {
		t.Fatal(err)
	}
	return func(lang string) ([]Lesson, error) {
		ls, ok := byLang[lang]
		if !ok {
			return nil, os.ErrNotExist
		}
		return ls, nil
	}
}

// plain is a renderer without colour: what NO_COLOR gives, and what makes
// golden files readable.
func plain() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}

func testModel(t testing.TB, eng lab.Engine, w, h int) Model {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := New(ctx, eng, Options{
		Info:      Info{Mode: "nested", Emulated: true, ModeReason: "/dev/kvm is kvm_pvm", HostKernel: "6.1.0-56-amd64"},
		ExportDir: "/tmp/twinboot-export",
		Lessons:   testLessons(t),
		Renderer:  plain(),
	})
	m.width, m.height = w, h
	t.Cleanup(func() {
		m.jobs.stop()
		if !m.jobs.wait(10 * time.Second) {
			t.Error("engine goroutine still running after the test")
		}
	})
	return m
}

// drive runs the model's commands the way bubbletea would, one message at a
// time, until no command is left or the program would quit. It reports
// whether the model asked to quit.
func drive(t testing.TB, m Model, cmd tea.Cmd) (Model, bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for cmd != nil {
		if time.Now().After(deadline) {
			t.Fatal("model did not settle")
		}
		msg := cmd()
		if _, ok := msg.(tea.QuitMsg); ok {
			return m, true
		}
		var next tea.Model
		next, cmd = m.Update(msg)
		m = next.(Model)
	}
	return m, false
}

func press(m Model, k string) (Model, tea.Cmd) {
	var msg tea.KeyMsg
	switch k {
	case "tab":
		msg = tea.KeyMsg{Type: tea.KeyTab}
	case "esc":
		msg = tea.KeyMsg{Type: tea.KeyEsc}
	case "ctrl+c":
		msg = tea.KeyMsg{Type: tea.KeyCtrlC}
	default:
		msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
	}
	next, cmd := m.Update(msg)
	return next.(Model), cmd
}

func lipglossWidth(s string) int { return lipgloss.Width(s) }

package tui

import (
	"fmt"
	"io"

	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/lab"
)

// escaper is implemented by shells with an escape key; it says how a student leaves a shell. The lab prints it before
// handing the terminal over, because once the shell runs the lab's own
// screen (and its help line) is gone until the shell ends.
type escaper interface{ Escape() string }

// bannerShell prints which side the shell is in and how to leave it, then
// runs the engine's shell.
type bannerShell struct {
	lab.Shell
	side   event.Side
	stdout io.Writer
}

func (b *bannerShell) SetStdout(w io.Writer) {
	b.stdout = w
	b.Shell.SetStdout(w)
}

func (b *bannerShell) Run() error {
	leave := "type exit"
	if e, ok := b.Shell.(escaper); ok && e.Escape() != "" {
		leave = "type exit or press " + e.Escape()
	}
	if b.stdout != nil {
		fmt.Fprintf(b.stdout, "\r\n── twinboot lab: shell in the %s. To go back to the lab, %s. ──\r\n\r\n", sideName(b.side), leave)
	}
	return b.Shell.Run()
}

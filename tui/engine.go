// Package tui is twinboot's lab: a terminal screen that shows the same
// workload booting as a virtual machine (left) and as a container (right),
// live, with a comparison strip and guided lessons.
//
// The lab holds no logic of its own. Everything it shows arrives as events
// from the engine (package compare): phases, console bytes, finished
// measurements. The model folds those events into state, and View renders
// that state without doing any I/O, so a recorded event stream reproduces a
// screen exactly (that is how the tests work).
package tui

import (
	"context"
	"io"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/internal/event"
)

// Engine is what the lab needs from compare. It is an interface so that the
// model can be driven by a recorded event stream in tests, and so that the
// command wiring (cmd_lab.go) decides how the real engine is built.
//
// Every method that runs something must stop and clean up (VM, container,
// QEMU, mounts) when ctx is cancelled, and must return only once that
// cleanup is done: the lab waits for it before the process exits.
type Engine interface {
	// Run boots the VM and the container once and emits the events of that
	// run, ending with compare.Finished.
	Run(ctx context.Context, sink event.Sink) error
	// Bench runs both sides runs times, interleaved, and emits one
	// RunStarted/RunDone pair per run, then compare.Finished with statistics.
	Bench(ctx context.Context, runs int, sink event.Sink) error
	// Shell prepares an interactive shell inside side (the probe's shell
	// mode: on the serial console for the VM, in the namespaces for the
	// container). The lab suspends itself and runs the returned command on
	// the terminal. An engine that cannot open a shell on this host returns
	// an error saying why; the lab shows it.
	Shell(ctx context.Context, side event.Side) (ShellCommand, error)
	// Export writes res as JSON, CSV and charts into dir and returns the
	// paths written.
	Export(ctx context.Context, res compare.Results, dir string) ([]string, error)
}

// ShellCommand is an interactive session the lab hands the terminal to. It
// has the same method set as bubbletea's ExecCommand, so an *exec.Cmd
// wrapper or a serial-console bridge fits without the engine importing
// bubbletea.
type ShellCommand interface {
	Run() error
	SetStdin(io.Reader)
	SetStdout(io.Writer)
	SetStderr(io.Writer)
}

// Info describes the host conditions the lab shows before any run: mostly
// whether the VM side will run emulated (nested mode).
type Info struct {
	Mode       string // "native" or "nested"
	Emulated   bool   // timings are measured under emulation
	ModeReason string // why this mode was chosen, e.g. "/dev/kvm is kvm_pvm"
	HostKernel string // the host's kernel release, for the badges
	Replay     string // non-empty when the engine plays back this recording
}

// Lesson is one concept of the course, as the lessons panel shows it. The
// command wiring converts package docs' lessons into these, so tui does not
// depend on the docs' file format.
type Lesson struct {
	ID    string
	Title string
	Steps []Step
}

// Step is one thing to read and one thing to try. IDs are the same in every
// language, which is how `L` keeps the reader on the same step.
type Step struct {
	ID    string
	Title string
	Body  string
	TryIt string
}

// LessonSource returns the lessons of a language ("en", "ko").
type LessonSource func(lang string) ([]Lesson, error)

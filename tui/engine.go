package tui

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

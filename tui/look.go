package tui

import "strings"

// target is a part of the screen a lesson step can point at.
type target uint16

const (
	lookBadge target = 1 << iota
	lookReady
	lookMemory
	lookKernel
	lookPhases
	lookConsole
	lookKernels  // "kernels in RAM" and boot_id, in the strip
	lookSyscalls // the syscalls line of the strip
	lookBench
	lookShell
)

// lookPhrases map what a step's English text names to the part of the
// screen that shows it. The lessons are written to point at the screen in
// these words ("compare the *kernel* card", "the *syscalls* line"); matching
// the English text of the step, whatever language is shown, keeps the marks
// the same in both languages.
var lookPhrases = []struct {
	phrase string
	t      target
}{
	{"kernel shared with host", lookBadge},
	{"badge", lookBadge},
	{"kernel card", lookKernel},
	{"kernel release", lookKernel},
	{"ready after", lookReady},
	{"time to ready", lookReady},
	{"timeline", lookPhases},
	{"phases", lookPhases},
	{"memory", lookMemory},
	{"console", lookConsole},
	{"kernels in ram", lookKernels},
	{"boot_id", lookKernels},
	{"syscalls line", lookSyscalls},
	{"distribution", lookBench},
	{"[b]", lookBench},
	{"[s]", lookShell},
	{"[tab]", lookShell},
}

// targetsOf finds the parts of the screen a step talks about.
func targetsOf(st Step) target {
	// Title and Try it only: the body explains, and mentions far more
	// than the step asks the student to look at.
	text := strings.ToLower(strings.ReplaceAll(st.Title+" "+st.TryIt, "*", ""))
	var t target
	for _, p := range lookPhrases {
		if strings.Contains(text, p.phrase) {
			t |= p.t
		}
	}
	return t
}

// mark puts the lesson's pointer, », in front of s when the open step is about
// t. The pointer is a character, not only a colour.
func (m Model) mark(t target, s string) string {
	if !m.lessons.open || m.lessons.targets&t == 0 {
		return s
	}
	return m.st.look.Render("»") + s
}

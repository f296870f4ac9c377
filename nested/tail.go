package nested

import (
	"strings"
	"sync"

	"github.com/twinboot/twinboot/internal/tail"
)

// consoleTail keeps the end of L1's console or of QEMU's stderr, for error
// messages, and notices the lines after which a kernel never goes on.
type consoleTail struct {
	*tail.Buffer
	mu sync.Mutex
	// fatal is closed the first time a line in fatalMarks shows up.
	fatal     chan struct{}
	fatalLine string
}

// fatalMarks are console lines after which a kernel never goes on: the boot
// stub halts the CPU, so waiting for a timeout would only waste time.
var fatalMarks = []string{"-- System halted"}

func newTail(max int) *consoleTail {
	return &consoleTail{Buffer: tail.New(max), fatal: make(chan struct{})}
}

func (t *consoleTail) Write(p []byte) (int, error) {
	t.Buffer.Write(p)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fatalLine == "" {
		for _, m := range fatalMarks {
			if t.Contains(m) {
				t.fatalLine = m
				close(t.fatal)
				break
			}
		}
	}
	return len(p), nil
}

// describe formats the last n lines for an error message, or says there
// were none.
func (t *consoleTail) describe(what string, n int) string {
	l := t.Lines(n)
	if len(l) == 0 {
		return what + ": (nothing)"
	}
	return what + ":\n    " + strings.Join(l, "\n    ")
}

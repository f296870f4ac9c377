package nested

import (
	"bytes"
	"strings"
	"sync"
)

// tail keeps the last bytes written to it: the end of L1's console or of
// QEMU's stderr, for error messages.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
	// fatal is closed the first time a line in fatalMarks shows up.
	fatal     chan struct{}
	fatalLine string
}

// fatalMarks are console lines after which a kernel never goes on: the boot
// stub halts the CPU, so waiting for a timeout would only waste time.
var fatalMarks = []string{"-- System halted"}

func newTail(max int) *tail { return &tail{max: max, fatal: make(chan struct{})} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	if t.fatalLine == "" {
		for _, m := range fatalMarks {
			if bytes.Contains(t.buf, []byte(m)) {
				t.fatalLine = m
				close(t.fatal)
			}
		}
	}
	return len(p), nil
}

// lines returns up to n last non-blank lines, trimmed.
func (t *tail) lines(n int) []string {
	t.mu.Lock()
	b := bytes.ReplaceAll(t.buf, []byte("\r"), nil)
	t.mu.Unlock()
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

// describe formats the tail for an error message, or says it is empty.
func (t *tail) describe(what string, n int) string {
	l := t.lines(n)
	if len(l) == 0 {
		return what + ": (nothing)"
	}
	return what + ":\n    " + strings.Join(l, "\n    ")
}

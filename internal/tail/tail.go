package tail

import (
	"bytes"
	"strings"
	"sync"
)

// Buffer keeps the last Max bytes written to it (4 KiB when Max is 0). It
// is safe for concurrent use.
type Buffer struct {
	Max int

	mu  sync.Mutex
	buf []byte
}

// New returns a Buffer that keeps max bytes.
func New(max int) *Buffer { return &Buffer{Max: max} }

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	max := b.Max
	if max <= 0 {
		max = 4 << 10
	}
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// Contains reports whether what is kept holds s.
func (b *Buffer) Contains(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Contains(b.buf, []byte(s))
}

// Lines returns up to n last non-blank lines, trimmed.
func (b *Buffer) Lines(n int) []string {
	b.mu.Lock()
	s := string(b.buf)
	b.mu.Unlock()
	return Lines(s, n)
}

// Join is the last n lines on one line, separated by " | ".
func (b *Buffer) Join(n int) string { return strings.Join(b.Lines(n), " | ") }

// Lines returns up to n last non-blank lines of s, trimmed (carriage
// returns dropped).
func Lines(s string, n int) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r", ""), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return Last(out, n)
}

// Last returns the last n of lines (all of them when there are fewer).
func Last(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}

// LastLine is the last non-blank line of s, or "".
func LastLine(s string) string {
	if l := Lines(s, 1); len(l) == 1 {
		return l[0]
	}
	return ""
}

package testutil

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"time"
)

// Screen collects what a VM's console or a command writes, safe to read
// while it is being written, so that a test can type once a prompt shows.
type Screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *Screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *Screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// WaitFor waits until the text after index from holds want, and returns the
// index just past it; false if ctx ends first.
func (s *Screen) WaitFor(ctx context.Context, from int, want string) (int, bool) {
	for {
		if text := s.String(); len(text) >= from {
			if i := strings.Index(text[from:], want); i >= 0 {
				return from + i + len(want), true
			}
		}
		select {
		case <-ctx.Done():
			return 0, false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

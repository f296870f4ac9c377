package nested

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// Ctrl-] ends a shell: the bytes before it reach the far side, the ones
// after never do, and the shell is told to stop.
func TestEscapeReader(t *testing.T) {
	stopped := false
	r := &EscapeReader{R: strings.NewReader("ls\r\x1dexit\r"), Stop: func() { stopped = true }}
	got, err := io.ReadAll(r)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if string(got) != "ls\r" || !stopped {
		t.Fatalf("read %q, stopped %v", got, stopped)
	}
}

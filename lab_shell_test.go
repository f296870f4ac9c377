package main

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// Ctrl-] ends the VM console: the bytes before it reach the guest, the ones
// after never do, and the VM is told to stop.
func TestEscapeReader(t *testing.T) {
	stopped := false
	r := &escapeReader{r: strings.NewReader("ls\r\x1dexit\r"), stop: func() { stopped = true }}
	got, err := io.ReadAll(r)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if string(got) != "ls\r" || !stopped {
		t.Fatalf("read %q, stopped %v", got, stopped)
	}
}

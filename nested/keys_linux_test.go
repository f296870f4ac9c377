package nested

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// A stdin that epoll cannot wait on (/dev/null, a regular file) is read as
// it is: `ct run --mode nested </dev/null` failed with "add reader to epoll
// interest list".
func TestOpenKeysUnpollable(t *testing.T) {
	reg := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(reg, []byte("echo hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/dev/null": "", reg: "echo hi\n"} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		k, err := OpenKeys(f)
		if err != nil {
			t.Fatalf("OpenKeys(%s): %v", path, err)
		}
		got, err := io.ReadAll(k.R)
		if err != nil || string(got) != want || k.TTY {
			t.Errorf("%s: read %q, %v, tty %v; want %q", path, got, err, k.TTY, want)
		}
		k.Close()
		f.Close()
	}
}

// A pipe still gets the cancelable reader: Close ends a pending read.
func TestOpenKeysPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	k, err := OpenKeys(r)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := k.R.Read(make([]byte, 1)); done <- err }()
	time.Sleep(50 * time.Millisecond)
	k.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a cancelled read returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close left the read on the pipe pending")
	}
	// The next key belongs to whoever reads next (the lab), and nothing
	// read after Close began went anywhere but Late.
	w.Write([]byte("q"))
	b := make([]byte, 1)
	if n, err := r.Read(b); n != 1 || b[0] != 'q' || err != nil {
		t.Fatalf("next reader got %q, %v; want q", b[:n], err)
	}
	if late := k.Late(); len(late) != 0 {
		t.Errorf("Late = %q, want nothing (no key was typed during Close)", late)
	}
}

package nested

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/muesli/cancelreader"
	"golang.org/x/sys/unix"
)

// EscapeByte is Ctrl-], the key that leaves a shell (as in telnet and
// virsh console): inside the shell every other key, Ctrl-C included,
// belongs to the far side.
const EscapeByte = 0x1d

// EscapeReader passes keys through until Ctrl-], which calls Stop and ends
// the stream.
type EscapeReader struct {
	R    io.Reader
	Stop context.CancelFunc
}

// StopReading stops R when it can be stopped (see StopReader).
func (e *EscapeReader) StopReading() ([]byte, bool) {
	if sr, ok := e.R.(StopReader); ok {
		return sr.StopReading()
	}
	return nil, false
}

func (e *EscapeReader) Read(p []byte) (int, error) {
	n, err := e.R.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == EscapeByte {
			e.Stop()
			return i, io.EOF
		}
	}
	return n, err
}

// Keys is a terminal (or any reader) prepared for relaying key presses.
type Keys struct {
	R     io.Reader
	Close func() // undoes OpenKeys: ends a pending read, restores the terminal
	TTY   bool   // the input is a terminal, now raw
	kr    *keyReader
}

// Late returns the keys read after Close began, which no shell received:
// a key pressed just as the shell ended. The lab hands them back to its
// own screen, so that the key is not lost.
func (k *Keys) Late() []byte {
	if k.kr == nil {
		return nil
	}
	k.kr.mu.Lock()
	defer k.kr.mu.Unlock()
	return append([]byte(nil), k.kr.late...)
}

// OpenKeys makes in ready to relay: a terminal is put in raw mode (the far
// side's tty does echo and line editing; Ctrl-C must reach it as a byte),
// and an *os.File is read through a cancelable reader, so that no read is
// left pending on it when the shell ends (it would steal the lab's next
// key). Close waits for a read in progress to return; what it returned
// then is kept for Late, not passed on.
func OpenKeys(in io.Reader) (*Keys, error) {
	k := &Keys{R: in, Close: func() {}}
	f, ok := in.(*os.File)
	if !ok {
		return k, nil
	}
	if !pollable(f) {
		// A regular file or /dev/null (ct run </dev/null): epoll refuses
		// it, and a read never waits on it anyway, so no read can be left
		// pending to steal a key.
		return k, nil
	}
	cr, err := cancelreader.NewReader(f)
	if err != nil {
		return nil, err
	}
	k.kr = &keyReader{cr: cr}
	k.R = k.kr
	var restore func()
	if isTerminal(f) {
		restore, err = rawInput(int(f.Fd()))
		if err != nil {
			cr.Close()
			return nil, fmt.Errorf("raw terminal: %w", err)
		}
		k.TTY = true
	}
	var once sync.Once
	k.Close = func() {
		once.Do(func() {
			k.kr.close()
			if restore != nil {
				restore()
			}
		})
	}
	return k, nil
}

// keyReader is a cancelable reader whose close waits for the read in
// progress: cancelreader's Close alone can free the epoll descriptor under
// a read that has not reached epoll_wait yet, which then waits on whatever
// reuses the number and never returns.
type keyReader struct {
	cr      cancelreader.CancelReader
	mu      sync.Mutex
	closing bool
	once    sync.Once
	reading sync.WaitGroup
	late    []byte
}

func (k *keyReader) Read(p []byte) (int, error) {
	k.mu.Lock()
	if k.closing {
		k.mu.Unlock()
		return 0, io.EOF
	}
	k.reading.Add(1)
	k.mu.Unlock()
	defer k.reading.Done()
	n, err := k.cr.Read(p)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closing {
		k.late = append(k.late, p[:n]...)
		return 0, io.EOF
	}
	return n, err
}

func (k *keyReader) close() {
	k.once.Do(func() {
		k.mu.Lock()
		k.closing = true
		k.mu.Unlock()
		k.cr.Cancel()
		k.reading.Wait()
		k.cr.Close()
	})
}

// StopReading ends the read in progress and returns what it read as it
// stopped, which then no longer counts for Late.
func (k *keyReader) StopReading() ([]byte, bool) {
	k.close()
	k.mu.Lock()
	defer k.mu.Unlock()
	late := k.late
	k.late = nil
	return late, true
}

// Interactive sets job up to read the keys typed on in, for a shell in L1:
// in is opened with OpenKeys, Ctrl-] asks L1 to stop the job (Job.Stop) and
// closes escaped, and the job gets out's terminal size and the host's TERM.
// restore undoes it all once the job is over.
func Interactive(job *Job, in io.Reader, out io.Writer) (escaped <-chan struct{}, keys *Keys, err error) {
	keys, err = OpenKeys(in)
	if err != nil {
		return nil, nil, err
	}
	stop := make(chan struct{})
	var once sync.Once
	job.Stdin = &EscapeReader{R: keys.R, Stop: func() { once.Do(func() { close(stop) }) }}
	job.Stop = stop
	job.Rows, job.Cols = termSize(out)
	if t := os.Getenv("TERM"); t != "" {
		// Jobs in L1 default to TERM=dumb.
		job.Env = append(job.Env, "TERM="+t)
	}
	return stop, keys, nil
}

// pollable says whether epoll can wait on f: a pipe, a socket or a
// terminal can; a regular file, a directory or /dev/null cannot (EPERM).
func pollable(f *os.File) bool {
	st, err := f.Stat()
	if err != nil {
		return false
	}
	switch m := st.Mode(); {
	case m&(os.ModeNamedPipe|os.ModeSocket) != 0:
		return true
	case m&os.ModeCharDevice != 0:
		return isTerminal(f)
	}
	return false
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// rawInput makes the terminal's input raw: every key, Ctrl-C included, is
// delivered as a byte at once and not echoed. Unlike a full raw mode it
// keeps output processing, so a bare "\n" from L1 (twinboot's own messages)
// still starts its line at the left margin.
func rawInput(fd int) (restore func(), err error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	t := *old
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &t); err != nil {
		return nil, err
	}
	return func() { unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}

// termSize is w's size when it is a terminal, else 0, 0 (L1 then uses
// 24x80).
func termSize(w io.Writer) (rows, cols uint16) {
	f, ok := w.(*os.File)
	if !ok {
		return 0, 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Row == 0 || ws.Col == 0 {
		return 0, 0
	}
	return ws.Row, ws.Col
}

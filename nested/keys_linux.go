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
	Close func() // undoes OpenKeys: cancels a pending read, restores the terminal
	TTY   bool   // the input is a terminal, now raw
}

// OpenKeys makes in ready to relay: a terminal is put in raw mode (the far
// side's tty does echo and line editing; Ctrl-C must reach it as a byte),
// and an *os.File is read through a cancelable reader, so that no read is
// left pending on it when the shell ends (it would steal the lab's next
// key).
func OpenKeys(in io.Reader) (*Keys, error) {
	k := &Keys{R: in, Close: func() {}}
	f, ok := in.(*os.File)
	if !ok {
		return k, nil
	}
	cr, err := cancelreader.NewReader(f)
	if err != nil {
		return nil, err
	}
	k.R = cr
	var restore func()
	if isTerminal(f) {
		restore, err = rawInput(int(f.Fd()))
		if err != nil {
			cr.Close()
			return nil, fmt.Errorf("raw terminal: %w", err)
		}
		k.TTY = true
	}
	k.Close = func() {
		cr.Cancel()
		cr.Close()
		if restore != nil {
			restore()
		}
	}
	return k, nil
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

package nested

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// The wire format on ttyS1, both directions: one frame per line,
//
//	TB1:<tag>:<payload>\n
//
// where payload is JSON (or base64 for raw output) and therefore never holds
// a newline. ttyS1 is ours alone (the kernel's console is ttyS0), so the
// prefix is a second fence: a stray line that does not start with it is
// dropped, never mistaken for an event.
const framePrefix = "TB1:"

// Frame tags. L1 to host: hello, stage, ready, ev, out, err, exit, unread.
// Host to L1: job, in, stop, quit.
const (
	tagHello  = "hello"  // init is running (helloMsg)
	tagStage  = "stage"  // init progress, e.g. one module loaded (stageMsg)
	tagReady  = "ready"  // init waits for a job (stageMsg)
	tagEvent  = "ev"     // one event.Write line of the job, verbatim
	tagStdout = "out"    // a chunk of the job's stdout, base64
	tagStderr = "err"    // a chunk of the job's stderr, base64
	tagExit   = "exit"   // the job ended (exitMsg)
	tagJob    = "job"    // run this (jobMsg)
	tagQuit   = "quit"   // power L1 off
	tagInput  = "in"     // bytes for the job's stdin, or its end (inputMsg)
	tagStop   = "stop"   // end the job early: SIGTERM, later SIGKILL (stopMsg)
	tagFence  = "fence"  // host to L1, after a job's exit: all its input is sent (stopMsg)
	tagUnread = "unread" // L1 to host: the fenced job's input it never took (inputMsg)
)

// stageMsg says how far init got; UptimeS is L1's own clock (emulated).
type stageMsg struct {
	Name    string  `json:"name"`
	UptimeS float64 `json:"uptime_s"`
	Err     string  `json:"error,omitempty"`
}

// jobMsg asks init to run one program and stream its output back.
type jobMsg struct {
	ID   int      `json:"id"`
	Path string   `json:"path"`
	Args []string `json:"args"`
	Env  []string `json:"env,omitempty"`
	// Stdin: the job reads what the host sends in input frames; without
	// it the job's stdin is /dev/null.
	Stdin bool `json:"stdin,omitempty"`
	// TTY: the job runs on a pseudo-terminal in L1 (its stdin, stdout and
	// stderr, and its controlling terminal), so that an interactive shell
	// gets echo, line editing and Ctrl-C from a line discipline. Output
	// then comes back as stdout only, as on any terminal.
	TTY bool `json:"tty,omitempty"`
	// FreeTTY leaves the pty nobody's controlling terminal, for a new
	// session inside the job to take (see Job.FreeTTY).
	FreeTTY bool `json:"free_tty,omitempty"`
	// Rows and Cols size the pseudo-terminal like the host's, so that line
	// editing wraps where the student's screen does. Zero: 24x80.
	Rows uint16 `json:"rows,omitempty"`
	Cols uint16 `json:"cols,omitempty"`
}

// inputMsg carries keyboard (or script) bytes to job ID. encoding/json
// turns Data into base64, so no byte of it can end or fake a frame. EOF
// closes the job's stdin (a pipe) or sends the terminal's end-of-file
// character (a pty).
type inputMsg struct {
	ID   int    `json:"id"`
	Data []byte `json:"data,omitempty"`
	EOF  bool   `json:"eof,omitempty"`
}

// stopMsg asks init to end job ID before it ends by itself (the lab's
// escape key).
type stopMsg struct {
	ID int `json:"id"`
}

// exitMsg ends a job: Code is its exit status, or -1 with Err when it could
// not be started or was killed by a signal.
type exitMsg struct {
	ID      int     `json:"id"`
	Code    int     `json:"code"`
	Err     string  `json:"error,omitempty"`
	UptimeS float64 `json:"uptime_s"`
}

// frameWriter serialises frames from several goroutines onto one port; each
// frame is a single Write so that frames never interleave.
type frameWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (fw *frameWriter) raw(tag string, payload []byte) error {
	buf := make([]byte, 0, len(framePrefix)+len(tag)+len(payload)+2)
	buf = append(buf, framePrefix...)
	buf = append(buf, tag...)
	buf = append(buf, ':')
	buf = append(buf, payload...)
	buf = append(buf, '\n')
	fw.mu.Lock()
	defer fw.mu.Unlock()
	_, err := fw.w.Write(buf)
	return err
}

func (fw *frameWriter) json(tag string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s frame: %w", tag, err)
	}
	return fw.raw(tag, b)
}

// parseFrame splits one line (without its newline) into tag and payload.
// ok is false for anything that is not a frame.
func parseFrame(line []byte) (tag string, payload []byte, ok bool) {
	line = bytes.TrimRight(line, "\r")
	rest, found := bytes.CutPrefix(line, []byte(framePrefix))
	if !found {
		return "", nil, false
	}
	t, p, found := bytes.Cut(rest, []byte{':'})
	if !found || len(t) == 0 {
		return "", nil, false
	}
	return string(t), p, true
}

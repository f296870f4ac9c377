package hypervisor

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/internal/event"
)

const (
	// consoleFlushDelay bounds how long a partial line (a shell prompt)
	// waits in the buffer before it is shown.
	consoleFlushDelay = 20 * time.Millisecond
	consoleFlushBytes = 4096
	consoleTailLines  = 30
	maxLineBytes      = 64 << 10 // a longer "line" is cut, so a guest cannot grow our memory

	panicMarker   = "Kernel panic - not syncing"
	rebootMarker  = "reboot: Restarting system"
	restartMarker = "Restarting system"
)

// console collects the bytes the guest sends through the UART. Bytes arrive
// one per exit; writing each one on its own would make the console (and, in
// nested mode, the serial line carrying it) the bottleneck, so they are
// buffered and flushed a line at a time, or after a short delay for a
// prompt that does not end in a newline.
//
// On the way through it watches for what the run cares about: the first
// byte, the probe's READY line, a kernel panic, the reboot announcement.
type console struct {
	mu      sync.Mutex
	w       io.Writer
	events  event.Sink
	pending []byte
	timer   *time.Timer
	line    []byte // the current line, for the watchers below
	tail    []string

	firstByte func()              // called once, at the first byte
	ready     func(report.Report) // called at the first valid READY line
	sawFirst  bool
	sawReady  bool
	panicked  bool
	rebooting bool
	readyErr  error // a READY line that did not parse
}

func newConsole(w io.Writer, events event.Sink) *console {
	return &console{w: w, events: events}
}

// put takes one byte from the UART.
func (c *console) put(b byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.sawFirst {
		c.sawFirst = true
		if c.firstByte != nil {
			c.firstByte()
		}
	}
	c.pending = append(c.pending, b)
	c.watch(b)
	switch {
	case b == '\n' || len(c.pending) >= consoleFlushBytes:
		c.flushLocked()
	case c.timer == nil:
		c.timer = time.AfterFunc(consoleFlushDelay, c.flush)
	}
}

// watch follows the current line and examines it when it ends.
func (c *console) watch(b byte) {
	if b != '\n' {
		if len(c.line) < maxLineBytes {
			c.line = append(c.line, b)
		}
		return
	}
	line := strings.TrimRight(string(c.line), "\r")
	c.line = c.line[:0]
	c.tail = append(c.tail, line)
	if len(c.tail) > consoleTailLines {
		c.tail = c.tail[len(c.tail)-consoleTailLines:]
	}
	switch {
	case strings.Contains(line, panicMarker):
		c.panicked = true
	case strings.Contains(line, rebootMarker) || strings.HasSuffix(line, restartMarker):
		c.rebooting = true
	case !c.sawReady && strings.Contains(line, report.Prefix):
		r, err := report.Parse(line)
		if err != nil {
			c.readyErr = err
			return
		}
		c.sawReady = true
		if c.ready != nil {
			c.ready(r)
		}
	}
}

func (c *console) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
}

func (c *console) flushLocked() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if len(c.pending) == 0 {
		return
	}
	if c.w != nil {
		c.w.Write(c.pending) // a failing console must not stop the guest
	}
	c.events.Emit(event.Console{Side: event.VM, Text: string(c.pending)})
	c.pending = c.pending[:0]
}

// close flushes what is left; the last, unterminated line joins the tail.
func (c *console) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
	if len(bytes.TrimSpace(c.line)) > 0 {
		c.tail = append(c.tail, string(c.line))
		c.line = c.line[:0]
	}
}

func (c *console) tailLines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.tail...)
}

// cutReadyHint explains a READY line cut short by the exit port. A write to
// the console returns once the bytes are in the kernel's tty buffer; the
// UART driver sends them later, interrupt by interrupt, possibly on another
// vCPU. A guest that writes the exit port right after printing can end the
// VM before its last line is out, unless it drains the tty first
// (tcdrain(3), the TCSBRK ioctl).
const cutReadyHint = "the guest wrote the exit port while its READY line was still being sent: it must drain its console (tcdrain) before powering off"

// partialReady reports whether a READY line began but never ended.
func (c *console) partialReady() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sawReady {
		return false
	}
	if strings.Contains(string(c.line), report.Prefix) {
		return true
	}
	for _, l := range c.tail {
		if strings.Contains(l, report.Prefix) {
			return true // cut, or complete but unparsable
		}
	}
	return false
}

func (c *console) state() (panicked, rebooting bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.panicked, c.rebooting
}

package compare

import (
	"bytes"
	"strings"
	"sync"

	"github.com/twinboot/twinboot/internal/event"
)

// lineSink turns a console byte stream into one event.Console per line, so
// that the TUI and the JSON stream get whole lines, never single bytes.
type lineSink struct {
	side event.Side
	sink event.Sink
	mu   sync.Mutex
	buf  []byte
}

func (w *lineSink) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(w.buf[:i]), "\r")
		w.buf = w.buf[i+1:]
		w.sink.Emit(event.Console{Side: w.side, Text: line})
	}
	return len(p), nil
}

package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Side names who an event is about: the VM, the container, or a peer such as
// "qemu", "runc" or "crun".
type Side string

const (
	VM        Side = "vm"
	Container Side = "container"
)

// Event is any value that can travel in the stream. Kind is its wire name.
type Event interface {
	Kind() string
}

// Sink receives events. A nil Sink is valid and drops everything; use Emit.
type Sink func(Event)

// Emit sends ev to s if s is not nil.
func (s Sink) Emit(ev Event) {
	if s != nil {
		s(ev)
	}
}

// Phase marks the end of one boot phase. At is measured on the host's
// monotonic clock from the start of that side's run. Guest-side times are
// never put here; they travel in the READY report.
type Phase struct {
	Side     Side          `json:"side"`
	Name     string        `json:"name"`
	At       time.Duration `json:"at_ns"`
	Emulated bool          `json:"emulated,omitempty"`
}

func (Phase) Kind() string { return "phase" }

// Console carries bytes the side printed: the VM's serial console or the
// container's stdout/stderr.
type Console struct {
	Side Side   `json:"side"`
	Text string `json:"text"`
}

func (Console) Kind() string { return "console" }

// Log is a human-readable remark from the engine (mode chosen, peer skipped…).
type Log struct {
	Side Side   `json:"side,omitempty"`
	Msg  string `json:"msg"`
}

func (Log) Kind() string { return "log" }

// Progress reports long work: Done of Total steps of What.
type Progress struct {
	What  string `json:"what"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
}

func (Progress) Kind() string { return "progress" }

// Failure reports that a side or the whole command failed.
type Failure struct {
	Side Side   `json:"side,omitempty"`
	Err  string `json:"error"`
}

func (Failure) Kind() string { return "failure" }

var (
	mu       sync.RWMutex
	registry = map[string]func() Event{}
)

// Register makes Decode able to rebuild events of kind. newEvent must return a
// pointer to a fresh zero value.
func Register(kind string, newEvent func() Event) {
	mu.Lock()
	defer mu.Unlock()
	registry[kind] = newEvent
}

func init() {
	Register(Phase{}.Kind(), func() Event { return &Phase{} })
	Register(Console{}.Kind(), func() Event { return &Console{} })
	Register(Log{}.Kind(), func() Event { return &Log{} })
	Register(Progress{}.Kind(), func() Event { return &Progress{} })
	Register(Failure{}.Kind(), func() Event { return &Failure{} })
}

// ErrUnknownKind is returned by Decode for a kind nobody registered.
var ErrUnknownKind = errors.New("unknown event kind")

type envelope struct {
	Kind string          `json:"kind"`
	Data json.RawMessage `json:"data"`
}

// Marshal encodes ev as one JSON object {"kind":…,"data":…} without a newline.
func Marshal(ev Event) ([]byte, error) {
	data, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode %s event: %w", ev.Kind(), err)
	}
	return json.Marshal(envelope{Kind: ev.Kind(), Data: data})
}

// Write encodes ev as one JSON line on w.
func Write(w io.Writer, ev Event) error {
	b, err := Marshal(ev)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Decode rebuilds an event from Marshal's output. The result is the value
// type (Phase, not *Phase) for the built-in kinds, and whatever the
// registered constructor returns, dereferenced, for the others.
func Decode(b []byte) (Event, error) {
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	mu.RLock()
	newEvent, ok := registry[env.Kind]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("decode event %q: %w", env.Kind, ErrUnknownKind)
	}
	ev := newEvent()
	if err := json.Unmarshal(env.Data, ev); err != nil {
		return nil, fmt.Errorf("decode %s event: %w", env.Kind, err)
	}
	return deref(ev), nil
}

// deref turns the *T a constructor returned into the T that emitters send, so
// that a type switch on the far side sees the same type as on the near side.
func deref(ev Event) Event {
	if d, ok := ev.(interface{ Value() Event }); ok {
		return d.Value()
	}
	switch e := ev.(type) {
	case *Phase:
		return *e
	case *Console:
		return *e
	case *Log:
		return *e
	case *Progress:
		return *e
	case *Failure:
		return *e
	}
	return ev
}

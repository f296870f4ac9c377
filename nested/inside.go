package nested

import (
	"os"
	"strconv"
	"sync"

	"github.com/twinboot/twinboot/internal/event"
	"golang.org/x/sys/unix"
)

var (
	tapOnce sync.Once
	tap     event.Sink
)

// EventTap returns the sink through which a command running inside L1
// sends its events to the host, or nil outside L1. Commands combine it with
// their own sink (see Tee); the engine never learns about the transport.
//
// Every Phase that passes is marked Emulated: in L1 a clock measures QEMU's
// software CPU, and such a figure must never be read as a native one.
func EventTap() event.Sink {
	tapOnce.Do(func() {
		fd, err := strconv.Atoi(os.Getenv(EnvEvents))
		if err != nil || fd < 3 {
			return
		}
		// The descriptor is ours alone: keep it from the programs we start
		// (the container's init, for one), so that init's reader sees
		// end-of-file when we exit.
		unix.CloseOnExec(fd)
		os.Unsetenv(EnvEvents)
		f := os.NewFile(uintptr(fd), "twinboot-events")
		var mu sync.Mutex
		tap = func(ev event.Event) {
			if p, ok := ev.(event.Phase); ok {
				p.Emulated = true
				ev = p
			}
			mu.Lock()
			defer mu.Unlock()
			event.Write(f, ev)
		}
	})
	return tap
}

// Tee returns a sink that gives every event to each non-nil sink in turn.
func Tee(sinks ...event.Sink) event.Sink {
	var live []event.Sink
	for _, s := range sinks {
		if s != nil {
			live = append(live, s)
		}
	}
	switch len(live) {
	case 0:
		return nil
	case 1:
		return live[0]
	}
	return func(ev event.Event) {
		for _, s := range live {
			s(ev)
		}
	}
}

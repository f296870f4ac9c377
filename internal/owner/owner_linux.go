// Package owner names a process for the life of the machine: its PID and
// its start time. What a run leaves on the host (container state, a lab
// network) records its owner this way, so that the next run can tell a
// dead owner from a live one, and from a recycled PID.
package owner

import (
	"os"
	"sync"

	"github.com/twinboot/twinboot/internal/host"
)

// Start returns field 22 of /proc/<pid>/stat, the start time in clock
// ticks since boot: with the PID it names one process for the life of the
// machine.
func Start(pid int) (uint64, error) {
	st, err := host.ReadProcStat(pid)
	return st.StartTicks, err
}

// Alive reports whether the process pid that started at start still runs.
func Alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	s, err := Start(pid)
	return err == nil && s == start
}

// Self returns this process's PID and start time, read once.
func Self() (pid int, start uint64, err error) {
	selfOnce.Do(func() { selfStart, selfErr = Start(os.Getpid()) })
	return os.Getpid(), selfStart, selfErr
}

var (
	selfOnce  sync.Once
	selfStart uint64
	selfErr   error
)

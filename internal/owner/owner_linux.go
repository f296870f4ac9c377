// Package owner names a process for the life of the machine: its PID and
// its start time. What a run leaves on the host (container state, a lab
// network) records its owner this way, so that the next run can tell a
// dead owner from a live one, and from a recycled PID.
package owner

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Start returns field 22 of /proc/<pid>/stat, the start time in clock
// ticks since boot: with the PID it names one process for the life of the
// machine.
func Start(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	// The command name (field 2) may hold spaces; fields restart after ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
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

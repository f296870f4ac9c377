package testutil

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Process is one line of the process table, as leak checks need it.
type Process struct {
	PID, PPID int
	Comm      string // command name, as in /proc/<pid>/stat (may hold spaces)
	State     string // "R", "S", "Z", …
}

// Processes reads the live process table from /proc. Processes that vanish
// while it reads are left out.
func Processes() []Process {
	entries, _ := os.ReadDir("/proc")
	var out []Process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name may hold spaces and parentheses: the fields
		// after it start at the last ')'.
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		out = append(out, Process{PID: pid, PPID: ppid, Comm: s[open+1 : end], State: f[0]})
	}
	return out
}

package host

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// One process, as /proc shows it: the fields of /proc/<pid>/stat that
// twinboot reads (its state, its start, the CPU it used) and the memory of
// /proc/<pid>/smaps_rollup. Each is parsed here once.

// ProcStat is what /proc/<pid>/stat says of one process.
type ProcStat struct {
	State string // field 3: "R", "S", "Z", …
	PPID  int    // field 4
	// StartTicks is field 22, the start time in clock ticks since boot:
	// with the PID it names one process for the life of the machine.
	StartTicks uint64
	// CPU is fields 14 and 15, utime plus stime: the CPU time the process
	// (all its threads) has used so far.
	CPU time.Duration
}

// userHZ is the unit of /proc/<pid>/stat's times: Linux reports them at
// USER_HZ, which is 100 on every architecture Go targets for this.
const userHZ = 100

// ReadProcStat reads /proc/<pid>/stat.
func ReadProcStat(pid int) (ProcStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ProcStat{}, err
	}
	// The command name (field 2) may hold spaces and parentheses: the
	// fields after it start at the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ProcStat{}, fmt.Errorf("parse /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ProcStat{}, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	var st ProcStat
	st.State = f[0]
	ppid, err1 := strconv.Atoi(f[1])
	ut, err2 := strconv.ParseUint(f[11], 10, 64)
	stime, err3 := strconv.ParseUint(f[12], 10, 64)
	start, err4 := strconv.ParseUint(f[19], 10, 64)
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			return ProcStat{}, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
		}
	}
	st.PPID, st.StartTicks = ppid, start
	st.CPU = time.Duration(ut+stime) * (time.Second / userHZ)
	return st, nil
}

// Rollup is a process's memory from /proc/<pid>/smaps_rollup: resident
// (Rss) and proportional (Pss: each shared page divided among the processes
// that map it) set sizes, in bytes.
type Rollup struct {
	RSS, PSS uint64
}

// ReadRollup reads /proc/<pid>/smaps_rollup. A process that exited between
// open and read shows an empty rollup: that is an error too.
func ReadRollup(pid int) (Rollup, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/smaps_rollup"
	f, err := os.Open(path)
	if err != nil {
		return Rollup{}, err
	}
	defer f.Close()
	var r Rollup
	var seen bool
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, found := strings.Cut(sc.Text(), ":")
		if !found {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "Rss":
			r.RSS, seen = kb<<10, true
		case "Pss":
			r.PSS = kb << 10
		}
	}
	if !seen || r.RSS == 0 {
		return Rollup{}, fmt.Errorf("%s: no resident memory (the process has exited)", path)
	}
	return r, nil
}

// MemAvailable is the kernel's estimate of the memory available for new
// work without swapping (MemAvailable in /proc/meminfo), in bytes.
func MemAvailable() (uint64, error) {
	kb, err := meminfoKB("/proc/meminfo", "MemAvailable")
	return kb << 10, err
}

// meminfoKB reads one "Key: N kB" line of a meminfo file.
func meminfoKB(path, key string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == key+":" {
			return strconv.ParseUint(fields[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("%s has no %s line", path, key)
}

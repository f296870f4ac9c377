package host

import (
	"bufio"
	"os"
	"runtime"
	"strings"
)

// Facts are the machine's identity and size: what results record so that a
// reader knows where figures were taken. A fact that cannot be read is left
// empty: it is context, not a measurement, and a missing CPU model must not
// stop an experiment.
type Facts struct {
	Hostname      string
	KernelRelease string
	BootID        string
	CPUModel      string
	CPUs          int
	MemTotalKB    uint64
}

// ReadFacts reads the facts now. The kernel release and boot_id do not
// change while a process lives, but the hostname may, so this is not cached.
func ReadFacts() Facts {
	f := Facts{
		KernelRelease: readTrim("/proc/sys/kernel/osrelease"),
		BootID:        readTrim("/proc/sys/kernel/random/boot_id"),
		CPUModel:      cpuModel("/proc/cpuinfo"),
		CPUs:          runtime.NumCPU(),
		MemTotalKB:    memTotalKB("/proc/meminfo"),
	}
	f.Hostname, _ = os.Hostname()
	return f
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func cpuModel(path string) string { return cpuinfo(path, "model name") }

// cpuinfo is the value of the first "key : value" line of /proc/cpuinfo
// (at path) with that key, or "".
func cpuinfo(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20) // the flags line is long
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func memTotalKB(path string) uint64 {
	n, _ := meminfoKB(path, "MemTotal")
	return n
}

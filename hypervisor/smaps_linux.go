package hypervisor

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// mappingRSS sums the Rss of every mapping in smaps that lies within
// [start, end). The guest RAM is one mapping, unless the kernel split it.
func mappingRSS(smaps io.Reader, start, end uint64) (uint64, error) {
	sc := bufio.NewScanner(smaps)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	var rss uint64
	in, found := false, false
	for sc.Scan() {
		line := sc.Bytes()
		if lo, hi, ok := parseRange(line); ok {
			in = lo >= start && hi <= end
			found = found || in
			continue
		}
		if in && bytes.HasPrefix(line, []byte("Rss:")) {
			kb, err := parseKB(string(line[len("Rss:"):]))
			if err != nil {
				return 0, fmt.Errorf("smaps: %w", err)
			}
			rss += kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read smaps: %w", err)
	}
	if !found {
		return 0, fmt.Errorf("smaps: no mapping within %#x-%#x", start, end)
	}
	return rss, nil
}

// parseRange reads "start-end perms ..." mapping header lines.
func parseRange(line []byte) (lo, hi uint64, ok bool) {
	f := bytes.Fields(line)
	if len(f) < 2 || bytes.HasSuffix(f[0], []byte(":")) {
		return 0, 0, false
	}
	a, b, found := bytes.Cut(f[0], []byte("-"))
	if !found {
		return 0, 0, false
	}
	lo, err1 := strconv.ParseUint(string(a), 16, 64)
	hi, err2 := strconv.ParseUint(string(b), 16, 64)
	return lo, hi, err1 == nil && err2 == nil
}

// parseKB reads "   1234 kB".
func parseKB(s string) (uint64, error) {
	v := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "kB"))
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n, nil
}

// vmHWM reads the process's peak RSS from /proc/self/status.
func vmHWM() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read /proc/self/status: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := parseKB(v)
			if err != nil {
				return 0, fmt.Errorf("VmHWM: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}

// resetHWM restarts the process's peak-RSS count (VmHWM) from its current
// RSS, so that a VM's overhead figure is not inflated by an earlier VM in
// the same process. Linux 4.0 and later; on failure the figure is merely
// pessimistic.
func resetHWM() {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// measureMemory fills Memory for the guest RAM at [start, start+size).
func measureMemory(start, size uint64) (Memory, error) {
	m := Memory{ConfiguredBytes: size}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return m, fmt.Errorf("open smaps: %w", err)
	}
	defer f.Close()
	if m.TouchedBytes, err = mappingRSS(f, start, start+size); err != nil {
		return m, err
	}
	if m.HWMBytes, err = vmHWM(); err != nil {
		return m, err
	}
	if m.HWMBytes > m.TouchedBytes {
		m.VMMOverheadBytes = m.HWMBytes - m.TouchedBytes
	}
	return m, nil
}

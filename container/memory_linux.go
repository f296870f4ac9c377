package container

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// sampleProcesses sums Rss and Pss of the given processes from
// /proc/<pid>/smaps_rollup. ok is false when none could be read (they had
// already exited).
func sampleProcesses(pids []int) (rss, pss uint64, ok bool) {
	for _, pid := range pids {
		f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
		if err != nil {
			continue
		}
		var r, p uint64
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
				r, seen = kb*1024, true
			case "Pss":
				p = kb * 1024
			}
		}
		f.Close()
		// A process that exited between open and read shows an empty
		// rollup; count only real readings.
		if seen && r > 0 {
			rss += r
			pss += p
			ok = true
		}
	}
	return rss, pss, ok
}

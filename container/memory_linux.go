package container

import "github.com/twinboot/twinboot/internal/host"

// sampleProcesses sums Rss and Pss of the given processes from
// /proc/<pid>/smaps_rollup. ok is false when none could be read (they had
// already exited).
func sampleProcesses(pids []int) (rss, pss uint64, ok bool) {
	for _, pid := range pids {
		r, err := host.ReadRollup(pid)
		if err != nil {
			continue
		}
		rss += r.RSS
		pss += r.PSS
		ok = true
	}
	return rss, pss, ok
}

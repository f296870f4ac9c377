package observe

import (
	"io/fs"

	"github.com/twinboot/twinboot/guest/report"
)

// Files fills the fields of r that come from files under root (a view of
// "/"): boot_id, uptime, memory, CPUs, mount count, cgroup and disks.
func Files(root fs.FS, r *report.Report) {
	note := func(field string, err error) {
		if err == nil {
			return
		}
		if r.Errors == nil {
			r.Errors = map[string]string{}
		}
		r.Errors[field] = err.Error()
	}

	if id, err := BootID(root); err == nil {
		r.BootID = id
	} else {
		note("boot_id", err)
	}
	if up, err := Uptime(root); err == nil {
		r.UptimeSec = &up
	} else {
		note("uptime_s", err)
	}
	total, avail, errTotal, errAvail := Meminfo(root)
	if errTotal == nil {
		r.MemTotalKB = &total
	}
	if errAvail == nil {
		r.MemAvailKB = &avail
	}
	note("mem_total_kb", errTotal)
	note("mem_available_kb", errAvail)
	if n, err := OnlineCPUs(root); err == nil {
		r.CPUs = n
	} else {
		note("cpus", err)
	}
	if n, err := Mounts(root); err == nil {
		r.Mounts = &n
	} else {
		note("mounts", err)
	}
	if cg, err := Cgroup(root); err == nil {
		r.Cgroup = cg
	} else {
		note("cgroup", err)
	}
	disks, err := Disks(root)
	r.Disks = disks
	note("disks", err)
}

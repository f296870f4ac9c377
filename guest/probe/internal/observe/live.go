package observe

import (
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/guest/report"
)

// Live fills the fields of r that come from system calls rather than files:
// uname, hostname, PID and network interfaces (names, MACs, addresses). When the CPU count could not
// be read from /sys, it falls back to the affinity mask.
func Live(r *report.Report) {
	note := func(field string, err error) {
		if r.Errors == nil {
			r.Errors = map[string]string{}
		}
		r.Errors[field] = err.Error()
	}

	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		note("kernel_release", fmt.Errorf("uname: %w", err))
	} else {
		r.KernelRelease = unix.ByteSliceToString(u.Release[:])
		r.KernelVersion = unix.ByteSliceToString(u.Version[:])
		r.Hostname = unix.ByteSliceToString(u.Nodename[:])
	}
	r.PID = unix.Getpid()

	if r.CPUs == 0 {
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(0, &set); err == nil && set.Count() > 0 {
			r.CPUs = set.Count()
			if r.Errors != nil {
				r.Errors["cpus"] += " (counted from the affinity mask instead)"
			}
		}
	}

	ifs, err := net.Interfaces()
	if err != nil {
		note("interfaces", fmt.Errorf("list interfaces: %w", err))
	} else {
		r.Interfaces = make([]string, 0, len(ifs))
		for _, i := range ifs {
			r.Interfaces = append(r.Interfaces, i.Name)
			nic := report.NIC{Name: i.Name, MAC: i.HardwareAddr.String(), Up: i.Flags&net.FlagUp != 0}
			addrs, err := i.Addrs()
			if err != nil {
				note("nics", fmt.Errorf("addresses of %s: %w", i.Name, err))
			}
			for _, a := range addrs {
				nic.Addrs = append(nic.Addrs, a.String())
			}
			r.NICs = append(r.NICs, nic)
		}
	}
}

// SyscallBurst makes n getppid calls, the cheapest system call there is, and
// times them with the clock of the kernel the probe runs on. In a container
// each one is a plain syscall; in a VM it still never leaves the guest, which
// the hypervisor's exit counters show.
func SyscallBurst(n int) report.SyscallBurst {
	start := time.Now()
	for i := 0; i < n; i++ {
		unix.Getppid()
	}
	return report.SyscallBurst{Count: n, TotalNS: time.Since(start).Nanoseconds()}
}

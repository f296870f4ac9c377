package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Prefix starts the probe's READY line. "Ready" means the same thing on both
// sides: the host saw this prefix on the guest's console or the container's
// stdout.
const Prefix = "TWINBOOT-READY "

// ExitPort is the I/O port the probe writes one byte to when it is done in a
// VM ("poweroff" mode); the byte is its exit status. It is the same port
// QEMU's isa-debug-exit device is usually given, so the probe behaves the same
// under twinboot's hypervisor and under QEMU.
const ExitPort = 0xf4

// ErrNoReport means a line does not carry a READY report.
var ErrNoReport = errors.New("no TWINBOOT-READY line")

// Report is what the probe saw from inside. Fields it could not read are left
// empty (or nil for numbers, so that "absent" is not confused with zero) and the
// reason is recorded in Errors under the field's JSON name.
type Report struct {
	Mode string `json:"mode"` // exit, poweroff or shell
	// StartMonoNS is CLOCK_MONOTONIC when the probe's own code began (its
	// first package-level initialiser), in nanoseconds. A container shares
	// the host's clock, so the host can tell how long a runtime took to get
	// the workload going, apart from the workload's own work before READY.
	// In a VM it is the guest's clock and means nothing to the host.
	StartMonoNS   int64    `json:"start_mono_ns,omitempty"`
	KernelRelease string   `json:"kernel_release,omitempty"` // uname -r
	KernelVersion string   `json:"kernel_version,omitempty"` // uname -v
	BootID        string   `json:"boot_id,omitempty"`        // /proc/sys/kernel/random/boot_id
	Hostname      string   `json:"hostname,omitempty"`
	PID           int      `json:"pid"`
	UptimeSec     *float64 `json:"uptime_s,omitempty"` // first field of /proc/uptime
	MemTotalKB    *uint64  `json:"mem_total_kb,omitempty"`
	MemAvailKB    *uint64  `json:"mem_available_kb,omitempty"`
	CPUs          int      `json:"cpus,omitempty"` // online CPUs seen by the kernel
	Interfaces    []string `json:"interfaces"`     // network interface names
	// NICs are the network interfaces again, with their hardware and IP
	// addresses (Interfaces stays, for readers of older reports).
	NICs []NIC `json:"nics,omitempty"`
	// Disks are the block devices the kernel sees (/sys/block): in a VM,
	// the hypervisor's virtio disks.
	Disks  []Disk `json:"disks,omitempty"`
	Mounts *int   `json:"mounts,omitempty"`
	Cgroup string `json:"cgroup,omitempty"` // contents of /proc/self/cgroup, one line per hierarchy joined by ";"
	// Syscalls is the result of a burst of cheap syscalls (getppid) run by the
	// probe; the host compares it with the hypervisor's exit counters.
	Syscalls *SyscallBurst     `json:"syscalls,omitempty"`
	Errors   map[string]string `json:"errors,omitempty"`
}

// NIC is one network interface as the probe saw it.
type NIC struct {
	Name  string   `json:"name"`
	MAC   string   `json:"mac,omitempty"`   // empty for lo
	Addrs []string `json:"addrs,omitempty"` // CIDR form, e.g. 10.0.2.15/24
	Up    bool     `json:"up"`
}

// Disk is one block device: /sys/block/<name>/size (in 512-byte sectors,
// whatever the device's own block size) and ro.
type Disk struct {
	Name      string `json:"name"`
	SizeBytes uint64 `json:"size_bytes"`
	ReadOnly  bool   `json:"read_only"`
}

// SyscallBurst records how many getppid calls the probe made and how long
// they took inside the guest (guest clock, never mixed with host time).
type SyscallBurst struct {
	Count   int   `json:"count"`
	TotalNS int64 `json:"total_ns"`
}

// Line renders the report as the single READY line, without a newline.
func (r Report) Line() (string, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("encode report: %w", err)
	}
	return Prefix + string(b), nil
}

// Parse extracts a report from one console line. The prefix may be preceded by
// other bytes (a serial console can interleave kernel messages), but the JSON
// must run to the end of the line.
func Parse(line string) (Report, error) {
	i := strings.Index(line, Prefix)
	if i < 0 {
		return Report{}, ErrNoReport
	}
	payload := strings.TrimRight(line[i+len(Prefix):], "\r\n")
	var r Report
	if err := json.Unmarshal([]byte(payload), &r); err != nil {
		return Report{}, fmt.Errorf("parse READY report: %w", err)
	}
	return r, nil
}

// DiskBenchPrefix starts the line the probe prints after its READY line
// when asked to measure a disk (--diskbench PATH, twinboot.diskbench=PATH).
const DiskBenchPrefix = "TWINBOOT-DISKBENCH "

// DiskBench is what the probe measured on one disk or file, on the clock
// of the kernel it runs on. The same code measures a VM's /dev/vda and a
// container's file, so the figures compare directly.
type DiskBench struct {
	Path string `json:"path"`
	// Direct says whether reads bypassed the page cache (O_DIRECT); a file
	// system that refuses O_DIRECT (tmpfs, ramfs) is read through it.
	Direct bool `json:"direct"`
	// Sequential read of ReadBytes from offset 0, 1 MiB at a time.
	ReadBytes  int64   `json:"read_bytes"`
	ReadMBps   float64 `json:"read_mb_s"`
	WriteBytes int64   `json:"write_bytes"` // sequential, 1 MiB at a time, then fdatasync
	WriteMBps  float64 `json:"write_mb_s"`
	// RandReads 4 KiB reads at random 4 KiB-aligned offsets, one at a time.
	RandReads  int     `json:"rand_reads"`
	RandP50us  float64 `json:"rand_p50_us"`
	RandP99us  float64 `json:"rand_p99_us"`
	RandMeanus float64 `json:"rand_mean_us"`
	Error      string  `json:"error,omitempty"`
}

// ParseDiskBench extracts a DiskBench from one output line.
func ParseDiskBench(line string) (DiskBench, bool) {
	return parseLine[DiskBench](line, DiskBenchPrefix)
}

// parseLine decodes the JSON after prefix in one output line of the probe.
func parseLine[T any](line, prefix string) (T, bool) {
	var v T
	i := strings.Index(line, prefix)
	if i < 0 {
		return v, false
	}
	if err := json.Unmarshal([]byte(strings.TrimRight(line[i+len(prefix):], "\r\n")), &v); err != nil {
		var zero T
		return zero, false
	}
	return v, true
}

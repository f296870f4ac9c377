package compare

import (
	"time"

	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/internal/event"
)

// Schema names the version of the results document.
const Schema = "twinboot/v1"

// Results is the whole document written by `twinboot run --json`, `bench
// --format json` and read by `twinboot chart`.
type Results struct {
	Schema  string    `json:"schema"`
	Created time.Time `json:"created"`
	Command string    `json:"command"` // "run" or "bench"
	Host    Host      `json:"host"`
	// Outer is, in nested mode, the physical machine that ran the lab
	// machine; Host is then the lab machine, where every figure was taken.
	Outer    *Host  `json:"outer_host,omitempty"`
	Mode     string `json:"mode"`     // "native" or "nested"
	Emulated bool   `json:"emulated"` // true when every timing was measured under emulation
	Config   Config `json:"config"`
	Runs     []Run  `json:"runs"`
	Stats    []Stat `json:"stats,omitempty"` // per metric and side, over Runs (bench)
	Peers    []Peer `json:"peers,omitempty"` // which peers ran, their versions, or why skipped
	// SyscallBaseline is one extra VM boot with an empty getppid burst, made
	// once per command: the exits it counts are what booting costs without
	// the burst (see Kernel.VMSyscallExits).
	SyscallBaseline *Side `json:"syscall_baseline,omitempty"`
}

// Host records the machine the figures come from.
type Host struct {
	Hostname      string `json:"hostname"`
	KernelRelease string `json:"kernel_release"`
	BootID        string `json:"boot_id"`
	CPUModel      string `json:"cpu_model"`
	CPUs          int    `json:"cpus"`
	MemTotalKB    uint64 `json:"mem_total_kb"`
	KVM           string `json:"kvm"`                 // "vmx", "svm", "kvm_pvm", "unknown" or "none" (host.KVMInfo.Flavour)
	Cgroup        string `json:"cgroup"`              // "v1", "v2", "hybrid" or "none"
	L1Kernel      string `json:"l1_kernel,omitempty"` // nested mode: the Debian kernel package of the lab machine
}

// Config is what was asked for.
type Config struct {
	GuestKey   string `json:"guest_key"`
	Kernel     string `json:"kernel"`
	Initrd     string `json:"initrd"`
	VMMemBytes uint64 `json:"vm_mem_bytes"`
	VMCPUs     int    `json:"vm_cpus"`
	CTMemBytes int64  `json:"ct_mem_bytes,omitempty"`
	Syscalls   int    `json:"syscalls"` // getppid burst size asked of the probe
	Runs       int    `json:"runs"`
	Warmup     int    `json:"warmup"`
	TimeoutNS  int64  `json:"timeout_ns"`
}

// Run is one VM run and one container run of the same workload, made back to
// back so that drift hits both.
type Run struct {
	Index     int    `json:"index"`
	Warmup    bool   `json:"warmup,omitempty"`
	VM        *Side  `json:"vm,omitempty"`
	Container *Side  `json:"container,omitempty"`
	Kernel    Kernel `json:"kernel"`
	Peers     []Side `json:"peers,omitempty"`
}

// Side is the measurement of one boot, VM, container or peer.
type Side struct {
	Name     string            `json:"name"`              // "vm", "container", "qemu", "runc", "crun"
	Version  string            `json:"version,omitempty"` // peers: their version
	Emulated bool              `json:"emulated"`          // measured under nested mode
	Reason   string            `json:"reason"`            // how it ended: "poweroff", "exited", "oom-killed", "timeout", …
	Error    string            `json:"error,omitempty"`
	Protocol string            `json:"protocol,omitempty"` // VM: "bzImage" or "pvh"
	Phases   []event.Phase     `json:"phases"`
	ReadyNS  int64             `json:"ready_ns"` // host monotonic, start to READY seen
	Memory   Memory            `json:"memory"`
	Exits    map[string]uint64 `json:"exits,omitempty"`    // VM: exit counts by reason
	IOPorts  map[uint16]uint64 `json:"io_ports,omitempty"` // VM: I/O exits by port
	Report   *report.Report    `json:"report,omitempty"`
}

// Memory holds the footprint figures of one side (see docs/metrics.md).
// Fields that do not apply to a side are zero and omitted.
type Memory struct {
	ConfiguredBytes  uint64 `json:"configured_bytes,omitempty"`   // VM: guest RAM asked for
	TouchedBytes     uint64 `json:"touched_bytes,omitempty"`      // VM: RSS of the guest RAM mapping
	VMMOverheadBytes uint64 `json:"vmm_overhead_bytes,omitempty"` // VM: VmHWM − touched
	CgroupPeakBytes  uint64 `json:"cgroup_peak_bytes,omitempty"`  // container: memory.peak / max_usage_in_bytes
	RSSBytes         uint64 `json:"rss_bytes,omitempty"`
	PSSBytes         uint64 `json:"pss_bytes,omitempty"`
}

// Kernel holds the kernel-sharing facts of one run: the lesson "a container
// shares the host's kernel; a VM brings its own".
type Kernel struct {
	HostRelease         string `json:"host_release"`
	VMRelease           string `json:"vm_release"`
	ContainerRelease    string `json:"container_release"`
	VMSameAsHost        bool   `json:"vm_same_as_host"`
	ContainerSameAsHost bool   `json:"container_same_as_host"`
	VMBootIDSame        bool   `json:"vm_boot_id_same"`
	ContainerBootIDSame bool   `json:"container_boot_id_same"`
	KernelsInRAM        int    `json:"kernels_in_ram"`     // host + 1 per running VM
	GuestKernelBytes    uint64 `json:"guest_kernel_bytes"` // text+data of the lab kernel
	GuestKernelText     uint64 `json:"guest_kernel_text_bytes,omitempty"`
	GuestKernelData     uint64 `json:"guest_kernel_data_bytes,omitempty"` // rodata, data, bss, per-cpu
	// The syscall path: the probe's getppid burst and how many VM exits it
	// caused. In the container the host kernel answers (0 exits by
	// construction); in the VM the guest's own kernel answers, and with KVM
	// no exit should trap.
	VMSyscalls        int    `json:"vm_syscalls"`
	VMSyscallExits    uint64 `json:"vm_syscall_exits"`
	ContainerSyscalls int    `json:"container_syscalls"`
	// SyscallExitsMethod says how VMSyscallExits was obtained, or why it
	// could not be (then VMSyscallExits is 0 and means nothing).
	SyscallExitsMethod string `json:"syscall_exits_method,omitempty"`
}

// Peer says whether a peer ran, with what version, or why it was skipped.
type Peer struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Skipped string `json:"skipped,omitempty"` // reason; empty when it ran
}

// Stat summarises one metric of one side over the runs.
type Stat struct {
	Side   string  `json:"side"`
	Metric string  `json:"metric"` // e.g. "ready_ns", "touched_bytes"
	Unit   string  `json:"unit"`   // "ns", "bytes"
	N      int     `json:"n"`
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Max    float64 `json:"max"`
	// RatioToContainer is the median of the pairwise ratios side/container
	// for the same run index (absent for the container itself).
	RatioToContainer float64 `json:"ratio_to_container,omitempty"`
	// Peers only: Ours names the twinboot side the peer does the same job as
	// ("vm" for QEMU, "container" for runc and crun), and OursToPeer is the
	// median of the pairwise ratios ours/peer (below 1: ours is smaller).
	Ours       string  `json:"ours,omitempty"`
	OursToPeer float64 `json:"ours_to_peer,omitempty"`
}

package hypervisor

import (
	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/internal/event"
)

// Names of the VM's boot phases, in order, each a host monotonic time from
// Config.Start: the process started, KVM's VM and guest memory are ready,
// the kernel is loaded, the first KVM_RUN, the first byte on the serial
// port, the host sees the probe's READY line. One more phase, "probe
// started", is a guest-side time: it travels in Result.Report.UptimeSec and
// is never mixed with these host timestamps.
const (
	PhaseProcessStart = "process start"
	PhaseVMReady      = "VM and memory ready"
	PhaseKernelLoaded = "kernel loaded"
	PhaseFirstRun     = "first KVM_RUN"
	PhaseFirstSerial  = "first serial byte"
	PhaseReady        = "READY seen"
)

// Result is what one run measured.
type Result struct {
	Reason   ExitReason `json:"reason"`
	Status   int        `json:"status"`   // the byte written to the exit port
	Protocol string     `json:"protocol"` // "bzImage" or "pvh"
	// Phases are host monotonic times from Config.Start.
	Phases      []event.Phase     `json:"phases"`
	Exits       map[string]uint64 `json:"exits"`    // by KVM exit reason
	IOPorts     map[uint16]uint64 `json:"io_ports"` // IO exits by port
	Memory      Memory            `json:"memory"`
	Report      *report.Report    `json:"report,omitempty"` // the probe's READY line, parsed
	ConsoleTail []string          `json:"console_tail,omitempty"`
	CPUs        int               `json:"cpus"`
	// Devices are the virtio devices' counters, in device order.
	Devices []DeviceStats `json:"devices,omitempty"`
	Detail  string        `json:"detail,omitempty"` // e.g. the internal error's suberror
}

// Memory is what a run cost the host, and what it promised the guest.
type Memory struct {
	// ConfiguredBytes is the guest RAM size (Config.MemBytes).
	ConfiguredBytes uint64 `json:"configured_bytes"`
	// TouchedBytes is the part of guest RAM that is resident on the host:
	// the Rss of the guest mapping in /proc/self/smaps. Pages the guest
	// never wrote cost nothing.
	TouchedBytes uint64 `json:"touched_bytes"`
	// HWMBytes is the process's peak resident set (VmHWM).
	HWMBytes uint64 `json:"hwm_bytes"`
	// VMMOverheadBytes is HWMBytes minus TouchedBytes: what the VMM itself
	// (Go runtime, buffers, KVM's per-process pages) used at its peak. It
	// is a process-wide peak, restarted when a VM is created (resetHWM), so
	// VMs run one after another in one process each get their own figure;
	// VMs running at the same time share it.
	VMMOverheadBytes uint64 `json:"vmm_overhead_bytes"`
}

// DeviceStats is what one virtio device saw during a run: how often the
// guest trapped to it, and what it did.
type DeviceStats struct {
	Name string `json:"name"` // blk0, blk1, net0: in command-line order
	Kind string `json:"kind"` // virtio-blk or virtio-net
	// Backend is the image file or TAP device behind it.
	Backend string `json:"backend"`
	Addr    uint64 `json:"addr"` // its register window
	IRQ     uint32 `json:"irq"`
	// MMIOExits are register accesses that left the guest for the VMM:
	// the cost of driving the device, each one a full exit.
	MMIOExits uint64 `json:"mmio_exits"`
	// NotifyExits are the queue notifications among them; with ioeventfd
	// there are none, and Notifies counts what KVM passed on instead.
	NotifyExits uint64 `json:"notify_exits"`
	Notifies    uint64 `json:"notifies"`
	IOEventFD   bool   `json:"ioeventfd"`
	IRQFD       bool   `json:"irqfd"`
	Interrupts  uint64 `json:"interrupts"`
	Requests    uint64 `json:"requests"` // chains completed (disk requests, frames)
	Failed      uint64 `json:"failed"`   // requests answered with an error
	Dropped     uint64 `json:"dropped,omitempty"`
	Flushes     uint64 `json:"flushes,omitempty"`
	BytesRead   uint64 `json:"bytes_read"`    // backend -> guest
	BytesWrite  uint64 `json:"bytes_written"` // guest -> backend
	// Broken says why the device stopped (a malformed queue), if it did.
	Broken string `json:"broken,omitempty"`
}

package density

import (
	"time"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/internal/event"
)

// Schema names the version of the density results document.
const Schema = "twinboot.density/v1"

// Kind is what an instance is: event.VM or event.Container.
type Kind = event.Side

// Results is the whole document `twinboot density --format json` writes and
// `twinboot chart` reads. Every figure was measured; none is derived from a
// single instance (see docs/metrics.md, "Density").
type Results struct {
	Schema  string        `json:"schema"`
	Created time.Time     `json:"created"`
	Host    compare.Host  `json:"host"`
	Outer   *compare.Host `json:"outer_host,omitempty"` // nested mode: the machine that ran the lab machine
	// L1MemBytes is, in nested mode, the lab machine's RAM.
	L1MemBytes uint64       `json:"l1_mem_bytes,omitempty"`
	Mode       string       `json:"mode"`
	Emulated   bool         `json:"emulated"`
	Config     Config       `json:"config"`
	Steps      []StepResult `json:"steps"`
	// Fit is the marginal cost of one more instance, per kind, fitted over
	// the steps' measured totals (nil with fewer than two fleet sizes).
	Fit   map[Kind]*Fit `json:"fit,omitempty"`
	Goals []Goal        `json:"goals"`
	KSM   *KSM          `json:"ksm,omitempty"`
}

// Config is what was asked for.
type Config struct {
	VMs        int    `json:"vms"`
	Containers int    `json:"containers"`
	Steps      []int  `json:"steps,omitempty"`
	Plan       []Step `json:"plan"`
	WindowNS   int64  `json:"window_ns"`
	VMMemBytes uint64 `json:"vm_mem_bytes"`
	Kernel     string `json:"kernel,omitempty"`
	Initrd     string `json:"initrd,omitempty"`
	Rootfs     string `json:"rootfs,omitempty"`
	GuestKey   string `json:"guest_key,omitempty"`
	TimeoutNS  int64  `json:"timeout_ns"`
	KSM        bool   `json:"ksm,omitempty"`
}

// StepResult is one fleet size, measured.
type StepResult struct {
	Index     int    `json:"index"` // 1-based
	Fleet     Step   `json:"fleet"`
	VM        *Fleet `json:"vm,omitempty"`
	Container *Fleet `json:"container,omitempty"`
	// MemAvailableBefore is the host's MemAvailable before the step
	// started anything; MemAvailableDuring at the end of its window, with
	// every instance up.
	MemAvailableBefore uint64 `json:"mem_available_before_bytes"`
	MemAvailableDuring uint64 `json:"mem_available_during_bytes"`
	WindowNS           int64  `json:"window_ns"`
}

// Fleet is one kind's instances in one step.
type Fleet struct {
	Asked  int `json:"asked"`
	Ready  int `json:"ready"`
	Failed int `json:"failed"`
	// FirstReadyNS and LastReadyNS are host monotonic times from the
	// moment this kind's instances were started (all at once) to the first
	// and the last READY line seen.
	FirstReadyNS int64 `json:"first_ready_ns"`
	LastReadyNS  int64 `json:"last_ready_ns"`
	// MemoryBytes is the memory the ready instances hold at the end of the
	// window, summed: VMs the PSS of each VMM process (guest RAM it
	// touched included), containers their cgroups' memory.current (v2) or
	// memory.usage_in_bytes (v1). PerInstanceBytes is MemoryBytes / Ready.
	MemoryBytes      uint64 `json:"memory_bytes"`
	PerInstanceBytes uint64 `json:"per_instance_bytes"`
	// TouchedBytes (VMs) is the guest RAM the VMs touched, summed, as each
	// VMM measured it when stopped.
	TouchedBytes uint64 `json:"touched_bytes,omitempty"`
	// IdleCPUNS is the CPU time the ready instances used over the window,
	// summed (VMM processes with their vCPU threads; the containers'
	// processes).
	IdleCPUNS int64      `json:"idle_cpu_ns"`
	Instances []Instance `json:"instances"`
}

// Instance is one VM or container.
type Instance struct {
	Index int `json:"index"`
	// ContainerID names a container's run (and its cgroup, twinboot-<id>);
	// VMMPID the VM's VMM process. What a leak check looks for.
	ContainerID  string `json:"container_id,omitempty"`
	VMMPID       int    `json:"vmm_pid,omitempty"`
	ReadyNS      int64  `json:"ready_ns,omitempty"` // 0: never READY
	MemoryBytes  uint64 `json:"memory_bytes,omitempty"`
	TouchedBytes uint64 `json:"touched_bytes,omitempty"`
	IdleCPUNS    int64  `json:"idle_cpu_ns,omitempty"`
	Error        string `json:"error,omitempty"`
}

// Fit is a least-squares line through (N, total memory) and (N, time to
// the last READY) over the steps.
type Fit struct {
	Points int `json:"points"` // steps with at least one ready instance
	// MarginalBytes is the slope: what one more instance costs.
	MarginalBytes float64 `json:"marginal_bytes"`
	// InterceptBytes is the line at N = 0: what the fleet costs whatever
	// its size (shared page cache, for one).
	InterceptBytes float64 `json:"intercept_bytes"`
	// MarginalReadyNS is the slope of the time to all-READY.
	MarginalReadyNS float64 `json:"marginal_ready_ns"`
	// TouchedPerInstanceBytes (VMs): guest RAM touched per VM, averaged
	// over every ready VM of every step.
	TouchedPerInstanceBytes float64 `json:"touched_per_instance_bytes,omitempty"`
}

// Goal is one of the targets, judged on this run's figures.
type Goal struct {
	Name     string `json:"name"`
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Met      *bool  `json:"met"` // nil: not measurable in this run (Note says why)
	Note     string `json:"note,omitempty"`
}

// KSM is what same-page merging gave back from the VMs' guest RAM at the
// largest step, in a window of its own after the step's figures were taken
// (so Fleet.MemoryBytes is before merging, like every other step's).
type KSM struct {
	// Available is false when the kernel has no KSM (Note says so).
	Available bool   `json:"available"`
	Note      string `json:"note,omitempty"`
	Step      int    `json:"step,omitempty"`
	// PagesToScan and SleepMS are the ksmd settings used (restored after).
	PagesToScan int `json:"pages_to_scan,omitempty"`
	SleepMS     int `json:"sleep_millisecs,omitempty"`
	// Samples follow pages_sharing (pages saved) over the window.
	Samples []KSMSample `json:"samples,omitempty"`
	// SavedBytes is pages_sharing × page size at the window's end; PSS
	// before and after are the VMs' summed PSS at the window's start and
	// end.
	SavedBytes     uint64 `json:"saved_bytes"`
	PSSBeforeBytes uint64 `json:"pss_before_bytes"`
	PSSAfterBytes  uint64 `json:"pss_after_bytes"`
	// HalfNS is when half of the final saving was reached (from the
	// window's start); 0 if nothing was saved.
	HalfNS int64 `json:"half_ns,omitempty"`
}

// KSMSample is one reading of /sys/kernel/mm/ksm.
type KSMSample struct {
	AtNS         int64  `json:"at_ns"`
	PagesShared  uint64 `json:"pages_shared"`
	PagesSharing uint64 `json:"pages_sharing"`
}

package container

import (
	"errors"
	"io"
	"time"

	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/internal/event"
)

// Spec describes one container run. Either Bundle names an OCI bundle, or
// Rootfs and Args describe the container directly; the limits and options in
// Spec then override or complete what the bundle says.
type Spec struct {
	Bundle   string   // OCI bundle directory (config.json and its root)
	Rootfs   string   // root directory, the read-only lower layer; never modified
	Args     []string // program and arguments, resolved inside the rootfs
	Env      []string
	Cwd      string
	Hostname string

	MemoryLimit int64   // bytes, 0 = none
	PidsLimit   int64   // 0 = none
	CPUs        float64 // CPU quota in cores (0.5 = 50 ms per 100 ms), 0 = none
	UserNS      bool    // add a user namespace, container root = an unprivileged host uid
	// CapAdd gives the container these capabilities on top of the
	// config's (names as ParseCapabilities takes them: "NET_RAW",
	// "CAP_SYS_ADMIN", "ALL"). Without a bundle the default seccomp
	// profile follows, allowing the system calls they exist for.
	CapAdd []string
	// ReadOnlyRoot runs a Rootfs without the writable overlay: the root is
	// the rootfs itself, read-only (a bundle says this with root.readonly).
	// For kernels without overlayfs, and the cheapest start.
	ReadOnlyRoot bool

	// Attach, when set, runs once the init has pivoted into its root and
	// waits, before the workload starts, with the init's PID: the lab
	// network (package network) wires the container's network namespace
	// here and writes its /etc/hosts through /proc/<pid>/root, from
	// outside, before the capabilities are dropped. An error fails the run.
	Attach func(pid int) error

	Stdin          io.Reader  // optional: the container's standard input
	Stdout, Stderr io.Writer  // optional: streamed output
	Events         event.Sink // phases as they complete, console lines
	Timeout        time.Duration

	// Init is the container init binary to start (see
	// container/cmd/twinboot-init). Empty: $TWINBOOT_CT_INIT, else
	// twinboot-init beside the running executable, else this executable
	// re-executed (which must then call MaybeInit or InitMain first).
	Init string

	// ForwardSignals relays SIGINT, SIGTERM and SIGHUP received by this process to
	// the container's init while it runs. Only a command-line front end
	// should set it: it changes the whole process's signal handling.
	ForwardSignals bool
}

// Phase names, in order, each a host monotonic time from the start of the
// run: the run started, the cgroup is ready, clone(2) returned, the init
// has pivoted into the rootfs, it executes the probe, the host sees the
// probe's READY line.
const (
	PhaseProcessStart = "process start"
	PhaseCgroupReady  = "cgroup ready"
	PhaseClone        = "clone"
	PhasePivotRoot    = "pivot_root done"
	PhaseExec         = "exec probe"
	PhaseReady        = "READY seen"
)

// Exit reasons.
const (
	ReasonExited    = "exited"
	ReasonSignaled  = "signaled"
	ReasonOOMKilled = "oom-killed"
	ReasonTimeout   = "timeout"
)

// Result is what a finished run measured.
type Result struct {
	ID       string `json:"id"`
	ExitCode int    `json:"exit_code"`
	Reason   string `json:"reason"`
	Signal   string `json:"signal,omitempty"`
	// Phases are host monotonic times from the start of Run ("process start"
	// is the moment Run was entered, so it is always 0).
	Phases        []event.Phase  `json:"phases"`
	Memory        Memory         `json:"memory"`
	Report        *report.Report `json:"report,omitempty"`
	CgroupVersion string         `json:"cgroup_version"` // "v1", "v2" or "hybrid"
	// OOMKills counts the processes the kernel's OOM killer killed in the
	// container's cgroup, the init or any other: a workload can survive the
	// loss of a child and exit 0, and that must not go unseen.
	OOMKills uint64 `json:"oom_kills"`
	// OnTerminal: the container's stdout was a terminal, handed to it as it
	// is (an interactive shell). Its output, the READY line included, went
	// to the screen unread, so Report is nil whatever it printed.
	OnTerminal bool `json:"on_terminal,omitempty"`
}

// Memory is the container's memory footprint.
type Memory struct {
	// CgroupPeakBytes is the cgroup's high-water mark: v1
	// memory.max_usage_in_bytes, v2 memory.peak. It is the figure to compare:
	// ru_maxrss of a Go-spawned child is wrong (Go starts it with vfork, so
	// the figure carries the parent's resident set).
	CgroupPeakBytes uint64 `json:"cgroup_peak_bytes"`
	// RSSBytes and PSSBytes are summed over the container's processes, read
	// from /proc/<pid>/smaps_rollup when the READY line is seen. A workload
	// that exits right after READY may be gone by then; Sampled says whether
	// the figures were read.
	RSSBytes uint64 `json:"rss_bytes"`
	PSSBytes uint64 `json:"pss_bytes"`
	Sampled  bool   `json:"sampled"`
}

// Errors a caller can test for with errors.Is.
var (
	ErrNotRoot        = errors.New("the container runtime needs root (run as root or with sudo)")
	ErrNoBundle       = errors.New("bundle not found")
	ErrBadConfig      = errors.New("invalid config.json")
	ErrUnsupported    = errors.New("unsupported config fields")
	ErrNoRootfs       = errors.New("rootfs not found")
	ErrNoArgs         = errors.New("no command to run (process.args is empty)")
	ErrBinaryNotFound = errors.New("executable not found in the rootfs")
	ErrInit           = errors.New("container init failed")
)

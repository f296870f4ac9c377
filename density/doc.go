// Package density measures the course's first argument for containers,
// efficiency: it starts N VMs (each in its own VMM process) and M
// containers (each in its own cgroup) on one host at once, waits until all
// are READY, keeps them up and idle for a measuring window, stops them all,
// and repeats that for several fleet sizes, so that a student sees how time
// and memory grow with N instead of multiplying one instance by hand.
//
// Every figure is measured on the running fleet, none derived from a
// single instance: time to the first and the last READY line; memory (each
// VMM process's PSS, the guest RAM it touched included; each container's
// cgroup memory); the CPU they use while idle; the host's MemAvailable
// before and during; and, fitted over the steps' totals, what one more
// instance costs. With KSM the kernel's same-page merging is turned on for
// the VMs' guest RAM, and what it gives back is followed over the window.
//
// Reading order:
//
//  1. options.go   what is asked (fleet sizes, steps as relative sizes,
//     window), checked before anything starts, and whether the largest
//     fleet fits in memory.
//  2. instance.go  one instance: a VM through hypervisor/vmm, a container
//     through container.Run, both with the probe in idle mode; how READY,
//     the VMM's PID (vmm.Started) and the container's cgroup
//     (container.Cgroup) are learnt from their events; how it is stopped.
//  3. run.go       a warm-up (one of each kind, not measured); one step:
//     the containers all at once, then the VMs all at once, the window, the
//     stop; then every step in turn.
//  4. ksm_linux.go ksmd's settings saved and restored, merging followed
//     over the window.
//  5. fit.go       the marginal cost (least squares over the steps) and the
//     issue's goals, judged honestly (met, not met, not measurable).
//  6. events.go, results.go, output.go, chart.go   what a run tells its
//     caller as it goes, the results document (docs/results-schema.md), the
//     table, CSV, and the charts.
//
// Nothing is left behind: a step waits until every instance has ended and
// cleaned up; a VMM dies with its parent even when that is killed with
// SIGKILL (Pdeathsig), and what such a kill leaves of the containers
// (cgroups, state) is removed by container.CleanupStaleRuns when the next
// run starts.
package density

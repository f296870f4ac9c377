// Package compare runs one workload twice, as a VM (package hypervisor) and as
// a container (package container), measures both the same way, and explains
// the difference: boot phases, memory, and the facts that show whether the
// kernel is shared. It also runs peers (QEMU, runc, crun), computes N-run
// statistics and writes results (JSON, CSV) and charts (SVG, PNG).
//
// compare emits typed events (events.go) while it works; the TUI, the --json
// output and the nested-mode transport all consume the same stream.
//
// Reading the files in this order tells the story:
//
//  1. engine.go       Options, RunOnce and Bench: the experiment's shape,
//     its defaults, and the interleaved loop over the sides.
//  2. vm.go           the VM side: the lab kernel under our hypervisor, in a
//     VMM process of its own (package hypervisor/vmm).
//  3. containerside.go the container side: the probe under our runtime,
//     from the same OCI bundle the peers get.
//  4. peers.go, peers_linux.go, peers_names.go  QEMU/KVM, runc and crun
//     running the same workload, where they are installed.
//  5. order.go        the order sides run in, so that none is always first.
//  6. kernelfacts.go, kernelsize.go  the kernel-sharing facts: same release,
//     same boot_id, kernels in RAM, the syscall path.
//  7. metrics.go, stats.go  the figures per run and their statistics (min,
//     median, p90, max, VM/container ratios).
//  8. events.go       the events the engine emits, registered for decoding on
//     the far side of nested mode's transport.
//  9. results.go, resultsio.go, host.go  the results document (schema
//     twinboot/v1), reading it back, and the host facts it records (from
//     package internal/host).
//  10. table.go, csv.go, chart.go  the results as a terminal table, CSV rows
//     and SVG/PNG charts.
//  11. netside.go, netrun.go  one side, or both at once, on a lab network
//     (package network): `ct run --net`, `vm --net`, `run --net` and its
//     reachability matrix.
//  12. netbench.go, netbenchio.go  `net bench`: lab host ↔ VM, container and
//     the QEMU peer, exits per frame; table, CSV and charts.
package compare

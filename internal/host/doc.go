// Package host is the ground under every other package: facts about this
// machine, each computed in one place.
//
//   - kvm.go: what backs /dev/kvm (kvm_intel, kvm_amd, kvm_pvm, nothing),
//     told by the loaded modules, because the device node looks the same for
//     all of them;
//   - mode.go: the mode decision (native or nested) that every VM-running
//     command, the doctor and the lab share, and whether this process runs
//     inside nested mode's L1 machine;
//   - cgroup_linux.go: the cgroup layout (v1, v2, or the v1/v2 hybrid these
//     lab machines have);
//   - facts.go: kernel release, boot_id, CPU model and count, memory.
//
// It imports nothing of twinboot's: a feature package may depend on it, never
// the other way round.
package host

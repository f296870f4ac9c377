package compare

import "github.com/twinboot/twinboot/internal/host"

// HostFacts records where figures come from: the machine's facts, its KVM
// flavour and its cgroup layout, as package host computes them for every
// command (the doctor says the same).
func HostFacts() Host {
	f := host.ReadFacts()
	return Host{
		Hostname:      f.Hostname,
		KernelRelease: f.KernelRelease,
		BootID:        f.BootID,
		CPUModel:      f.CPUModel,
		CPUs:          f.CPUs,
		MemTotalKB:    f.MemTotalKB,
		KVM:           host.KVM().Flavour,
		Cgroup:        host.Cgroup().Version,
	}
}

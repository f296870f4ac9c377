package compare

import (
	"fmt"

	"github.com/twinboot/twinboot/guest/report"
)

// UART and exit-port I/O are the console: the probe's own output, whose
// length varies from run to run with the digits it prints. They are left out
// when exits are compared between a run with the syscall burst and one
// without, because the burst itself does no I/O at all.
const (
	com1First = 0x3f8
	com1Last  = 0x3ff
	exitPort  = 0xf4
)

// quietExits is the number of exits that are not console I/O.
func quietExits(s *Side) uint64 {
	var total uint64
	for _, n := range s.Exits {
		total += n
	}
	for port, n := range s.IOPorts {
		if (port >= com1First && port <= com1Last) || port == exitPort {
			total -= min(n, total)
		}
	}
	return total
}

// KernelFacts works out the kernel-sharing facts of one run.
//
// The syscall path. A getppid in the container is a trap into the host
// kernel: no hypervisor is involved, so it costs 0 VM exits by construction.
// In the VM the guest's own kernel answers it; with hardware virtualization
// the SYSCALL instruction does not leave guest mode, so the hypervisor never
// sees it. To show that with the hypervisor's own counters rather than assert
// it, compare boots the VM once more with an empty burst (the baseline) and
// reports the difference in exits that are not console I/O:
//
//	VMSyscallExits = max(0, quietExits(run with burst) − quietExits(baseline))
//
// Near zero means the burst did not trap; a trapping syscall path would add
// at least one exit per call, i.e. about VMSyscalls.
func KernelFacts(host Host, vm, ct, baseline *Side, img KernelImage) Kernel {
	k := Kernel{
		HostRelease:      host.KernelRelease,
		KernelsInRAM:     1,
		GuestKernelBytes: img.Total(),
		GuestKernelText:  img.TextBytes,
		GuestKernelData:  img.DataBytes,
	}
	if r := reportOf(vm); r != nil {
		k.VMRelease = r.KernelRelease
		k.VMSameAsHost = r.KernelRelease != "" && r.KernelRelease == host.KernelRelease
		k.VMBootIDSame = r.BootID != "" && r.BootID == host.BootID
		if r.Syscalls != nil {
			k.VMSyscalls = r.Syscalls.Count
		}
	}
	if vm.OK() {
		// The host's kernel plus the one our VM brought with it.
		k.KernelsInRAM++
	}
	if r := reportOf(ct); r != nil {
		k.ContainerRelease = r.KernelRelease
		k.ContainerSameAsHost = r.KernelRelease != "" && r.KernelRelease == host.KernelRelease
		k.ContainerBootIDSame = r.BootID != "" && r.BootID == host.BootID
		if r.Syscalls != nil {
			k.ContainerSyscalls = r.Syscalls.Count
		}
	}
	switch {
	case !vm.OK():
		k.SyscallExitsMethod = "not measured: the VM did not reach READY"
	case k.VMSyscalls == 0:
		k.SyscallExitsMethod = "not measured: the probe ran no syscall burst"
	case !baseline.OK():
		k.SyscallExitsMethod = "not measured: no baseline VM run without the burst"
	case len(vm.Exits) == 0:
		k.SyscallExitsMethod = "not measured: the hypervisor reported no exit counts"
	default:
		with, without := quietExits(vm), quietExits(baseline)
		if with > without {
			k.VMSyscallExits = with - without
		}
		k.SyscallExitsMethod = fmt.Sprintf("non-console exits with the %d-call burst (%d) minus a baseline boot without it (%d)",
			k.VMSyscalls, with, without)
	}
	return k
}

func reportOf(s *Side) *report.Report {
	if s == nil {
		return nil
	}
	return s.Report
}

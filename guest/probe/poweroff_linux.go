package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// powerOff ends the machine the probe is PID 1 of, with status. It first
// writes status to the exit port, which twinboot's hypervisor and QEMU's
// isa-debug-exit turn into "guest done" at once. If that is not possible or
// nobody listens, reboot(2) follows.
//
// It asks for RESTART, not POWER_OFF: the lab kernel has no ACPI, so the
// kernel turns POWER_OFF into HALT and the vCPU would sit in HLT forever. A
// restart with reboot=t on the command line ends in a triple fault, which
// KVM reports as KVM_EXIT_SHUTDOWN and QEMU -no-reboot as an exit.
//
// Outside PID 1 it touches neither the port nor reboot(2): a probe that is
// not the machine's (or the PID namespace's) init must never stop the host.
// The port is written only when the kernel command line shows twinboot
// booted this kernel: as PID 1 of a container with CAP_SYS_RAWIO, the probe
// shares the host's kernel and an OUT would reach the host's hardware (or its
// own hypervisor). reboot(2) is safe there: in a PID namespace it only ends
// that namespace's init.
func powerOff(pid1 bool, status int) {
	if !pid1 {
		fmt.Fprintln(os.Stderr, "probe: poweroff mode outside PID 1: exiting instead")
		return
	}
	unix.Sync()
	// Wait until the console has sent everything, the READY line above all:
	// the exit port ends the VM at once, and with several vCPUs the UART may
	// still be draining on another one. TCSBRK with a non-zero argument is
	// tcdrain(3).
	for _, fd := range []int{1, 2} {
		unix.IoctlSetInt(fd, unix.TCSBRK, 1) // not a tty (a pipe, a file): nothing to drain
	}
	if ownKernel {
		if err := writeExitPort(uint8(status)); err != nil {
			fmt.Fprintf(os.Stderr, "probe: %v\n", err)
		}
	}
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART); err != nil {
		fmt.Fprintf(os.Stderr, "probe: reboot: %v\n", err)
	}
	// Still here: returning makes PID 1 exit, the kernel panics, and
	// panic=-1 reboots at once. Not clean, but the machine still ends.
}

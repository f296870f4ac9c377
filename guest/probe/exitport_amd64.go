package main

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/guest/report"
)

// outb writes val to an I/O port (exitport_amd64.s). The caller must hold
// permission for the port (ioperm), or the CPU raises #GP and the kernel
// kills the process with SIGSEGV.
func outb(port uint16, val uint8)

// writeExitPort writes status to report.ExitPort. ioperm(2) grants this
// process access to that one port; it needs CAP_SYS_RAWIO and a kernel with
// X86_IOPL_IOPERM (see guest/kernel.fragment).
//
// ioperm's grant belongs to the calling thread, not the process, so the
// goroutine is locked to its thread: were the Go scheduler to move it between
// ioperm and outb, the OUT would fault.
func writeExitPort(status uint8) error {
	runtime.LockOSThread()
	if err := unix.Ioperm(report.ExitPort, 1, 1); err != nil {
		return fmt.Errorf("ioperm %#x: %w", report.ExitPort, err)
	}
	outb(report.ExitPort, status)
	return nil
}

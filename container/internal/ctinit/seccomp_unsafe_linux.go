package ctinit

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// loadSeccomp installs the filter on the calling thread, the one that will
// execute the workload (a filter survives execve; the init's other threads
// end there). From here on the kernel runs the program on every system call
// this thread and its descendants make, and nothing can remove it.
//
// The kernel only accepts a filter from a thread that has no_new_privs set
// or CAP_SYS_ADMIN (setupProcess orders the steps for that).
func loadSeccomp(op *SeccompOp) error {
	if len(op.Program) == 0 {
		return fmt.Errorf("seccomp: empty filter")
	}
	prog := unix.SockFprog{Len: uint16(len(op.Program)), Filter: &op.Program[0]}
	_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(op.Flags), uintptr(unsafe.Pointer(&prog)))
	if e != 0 {
		return fmt.Errorf("seccomp(SET_MODE_FILTER, %d instructions): %w", len(op.Program), e)
	}
	return nil
}

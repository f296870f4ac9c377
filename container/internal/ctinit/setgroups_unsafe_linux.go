package ctinit

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// setgroups is setgroups(2) for the calling thread only (see setIDs). The
// pointer conversion happens inside the call expression, the one form in
// which the garbage collector keeps the array alive and in place.
func setgroups(gids []uint32) error {
	var e unix.Errno
	if len(gids) == 0 {
		_, _, e = unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0)
	} else {
		_, _, e = unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(gids)), uintptr(unsafe.Pointer(&gids[0])), 0)
	}
	if e != 0 {
		return e
	}
	return nil
}

//go:build !amd64

package main

import "errors"

// writeExitPort has no port I/O to use on this architecture: the VM is
// ended by reboot(2) alone.
func writeExitPort(status uint8) error {
	return errors.New("the exit port needs x86 port I/O")
}

//go:build !linux

package ctinit

import (
	"fmt"
	"os"
)

// Main fails: the init only exists on Linux.
func Main() int {
	fmt.Fprintln(os.Stderr, "twinboot-init: containers need Linux")
	return 1
}

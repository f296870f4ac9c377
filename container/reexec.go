package container

import (
	"os"

	"github.com/twinboot/twinboot/container/internal/ctinit"
)

// ReexecName is the value of TWINBOOT_REEXEC that turns this binary into a
// container's init (see main.go's reexecHooks and MaybeInit).
const ReexecName = "container-init"

const reexecEnv = "TWINBOOT_REEXEC"

// InitMain is the container init, for a program that re-executes itself as
// one (twinboot's reexec hook). It returns only if the init fails.
func InitMain() int { return ctinit.Main() }

// MaybeInit runs the container init and exits if this process was started as
// one; otherwise it returns at once. A program that calls Run and has no
// reexec hook of its own (a test binary: TestMain) calls it first thing.
func MaybeInit() {
	if os.Getenv(reexecEnv) == ReexecName {
		os.Exit(InitMain())
	}
}

package container

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/twinboot/twinboot/container/internal/ctinit"
	"github.com/twinboot/twinboot/internal/reexec"
)

// ReexecName is the value of TWINBOOT_REEXEC that turns this binary into a
// container's init (see MaybeInit, run from this package's initialiser, and
// package internal/reexec).
const ReexecName = "container-init"

// InitMain is the container init, for a program that re-executes itself as
// one. It returns only if the init fails.
func InitMain() int { return ctinit.Main() }

// The init takes over while packages are still being initialised: any
// program that links this package and is re-executed as an init becomes
// one, even a test binary that never calls MaybeInit (it would otherwise
// run its whole test suite again inside the container), and it skips the
// initialisers of every package that comes after this one.
func init() { MaybeInit() }

// MaybeInit runs the container init and exits if this process was started as
// one; otherwise it returns at once. A program that calls Run and has no
// reexec hook of its own (a test binary: TestMain) calls it first thing.
func MaybeInit() { reexec.Register(ReexecName, InitMain) }

// InitEnv names the container init binary when Spec.Init is empty.
const InitEnv = "TWINBOOT_CT_INIT"

// InitBinaryName is the init's file name beside the twinboot executable.
const InitBinaryName = "twinboot-init"

// openInit opens the binary the init will be started from. It is opened,
// not named, because the child executes it through /proc/self/fd: inside a
// user namespace the container's root may not be allowed to walk the
// directories that lead to it (a test binary sits in a private temporary
// directory). self reports the fallback, this executable re-executed.
func openInit(explicit string) (f *os.File, self bool, err error) {
	path := explicit
	if path == "" {
		path = os.Getenv(InitEnv)
	}
	if path == "" {
		if exe, err := os.Executable(); err == nil {
			if p := filepath.Join(filepath.Dir(exe), InitBinaryName); isRegular(p) {
				path = p
			}
		}
	}
	if path == "" {
		f, err = os.Open("/proc/self/exe")
		if err != nil {
			return nil, false, fmt.Errorf("open own executable for re-exec: %w", err)
		}
		return f, true, nil
	}
	f, err = os.Open(path)
	if err != nil {
		return nil, false, fmt.Errorf("open container init: %w", err)
	}
	return f, false, nil
}

func isRegular(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

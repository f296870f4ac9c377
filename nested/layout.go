package nested

import "github.com/twinboot/twinboot/internal/reexec"

// Where things live inside L1. The guest artefacts keep their manifest, with
// paths rewritten, so that guest.Load(guest.BuildDir()) works unchanged in
// L1 once TWINBOOT_BUILD=/build is set.
const (
	l1Twinboot  = "/bin/twinboot"
	l1Busybox   = "/bin/busybox"
	l1ModuleDir = "/lib/modules/l1" // NN-name.ko: the file order is the load order
	l1Build     = "/build"
	l1Extra     = "/extra" // Options.Extra files without an explicit Dst
	l1Serial    = "/dev/ttyS1"
)

// Environment variables.
const (
	// EnvEvents names the file descriptor on which a command inside L1
	// writes its events (see EventTap).
	EnvEvents = "TWINBOOT_EVENTS"
	// reexecName selects L1's init (see package internal/reexec). The
	// kernel passes TWINBOOT_REEXEC=nested-init from its command line to
	// init's environment, because the name has no dot in it.
	reexecName = "nested-init"
)

// L1's PID 1 is the twinboot binary, started by the kernel as the helper
// reexecName.
func init() { reexec.Register(reexecName, InitMain) }

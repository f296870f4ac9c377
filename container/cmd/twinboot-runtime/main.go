// Command twinboot-runtime is twinboot's container runtime as an OCI
// runtime executable: runc's command line (create, start, state, kill,
// delete, list, run, exec), for container engines and the OCI conformance
// suite. See package container/runtime.
package main

import (
	"os"

	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/container/runtime"
)

func main() {
	// This binary is also the container init when twinboot-init is not
	// beside it (see container.MaybeInit, which runs first).
	container.MaybeInit()
	os.Exit(runtime.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

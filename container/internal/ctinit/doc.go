// Package ctinit is the container's init: the process that clone(2) puts in
// the new namespaces, which builds the container's root file tree, enters
// its cgroup namespace, drops privileges and executes the workload.
//
// It is a package of its own, importing nothing but the standard library and
// x/sys/unix, so that it can be built as a small binary of its own
// (container/cmd/twinboot-init): the init's start is on every container's
// critical path, and a Go program's start-up grows with everything it links
// and initialises.
package ctinit

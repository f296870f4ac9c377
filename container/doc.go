// Package container is twinboot's own container runtime: small enough to read
// in one sitting, complete enough to run an OCI bundle written by `runc spec`.
//
// A run goes through the phases DESIGN.md names, and each file holds one of
// them:
//
//   - config.go, unsupported.go: the OCI runtime-spec is read and checked; every
//     field the runtime does not implement is named in one error, never ignored;
//   - cgroup_linux.go: a cgroup is made under the caller's own cgroup, on the
//     v1, v2 or hybrid layout, with the memory, pids and cpu limits;
//   - run_linux.go: /proc/self/exe is re-executed as the container's init with
//     new namespaces given to clone(2);
//   - init_linux.go, rootfs_linux.go: that init builds the root file tree
//     (overlay, /proc, /dev, /sys), pivots into it and executes the workload;
//   - state_linux.go: what a run leaves on the host is recorded so that a run
//     whose parent was killed is cleaned up by the next one.
//
// Because the init is this same binary started again, every program that calls
// Run must let the init take over first: twinboot's main does it through its
// re-exec hooks, and a test binary does it in TestMain with MaybeInit.
package container

// Package container is twinboot's own container runtime: small enough to read
// in one sitting, complete enough to run an OCI bundle written by `runc spec`.
//
// A run goes through its phases (spec.go: cgroup ready, clone, pivot_root
// done, exec probe, READY seen), and each file holds one step. Reading them
// in this order tells the story:
//
//  1. spec.go, config.go, unsupported.go, lookpath.go: what a run is asked
//     for; the OCI runtime-spec is read and checked, every field the runtime
//     does not implement is named in one error (never ignored), and the
//     program is found inside the rootfs.
//  2. state_linux.go: what a run puts on the host is recorded first, so that
//     a run whose parent was SIGKILLed is cleaned up by the next one.
//  3. cgroup_linux.go: a cgroup is made under the caller's own cgroup, on the
//     v1, v2 or hybrid layout, with the memory, pids and cpu limits
//     (containerd/cgroups does the writing).
//  4. security.go, seccomp.go: the walls besides the namespaces, runc's
//     defaults: three capabilities, no_new_privs, the engines' seccomp
//     profile compiled to a BPF search tree, device rules, namespaced
//     sysctls only; attack_linux_test.go tries every takeover they stop.
//  5. run_linux.go: the init is started with new namespaces given to
//     clone(2), moved into the cgroup, and followed to the workload's exit.
//  6. internal/ctinit: the init itself, which builds the root file tree
//     (overlay, /proc, /dev, /sys), pivots into it, enters its cgroup
//     namespace, drops privileges, loads the seccomp filter and executes
//     the workload.
//  7. memory_linux.go, output.go, overlay_linux.go: what a run measures and
//     how its output and writable layer are handled.
//  8. lifecycle_linux.go, hooks_linux.go, exec_linux.go: the OCI lifecycle
//     for engines (create leaves the init waiting on exec.fifo, start
//     releases it; state, kill and delete find the container again from its
//     record), the runtime-spec's hooks (Run runs them too), and exec into
//     a running container. Package container/runtime puts runc's command
//     line in front of them: build/bin/twinboot-runtime.
//
// The init is a separate small program, container/cmd/twinboot-init, when it
// sits beside the running executable; otherwise the running executable is
// re-executed and this package's initialiser turns it into the init before
// anything else runs (MaybeInit).
package container

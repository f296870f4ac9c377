// Package runtime is twinboot's container runtime behind runc's command
// line: the protocol container engines speak to an OCI runtime (containerd's
// BinaryName, podman's --runtime, the OCI conformance suite's RUNTIME=).
//
// The command line belongs to the runtime, not to the twinboot tool: it is an
// interface other programs call, so its verbs, flags, output and exit codes
// follow runc's, not twinboot's house style. Main parses it; package
// container does the work (lifecycle_linux.go: Create, Start, Kill, Delete,
// State, List). container/cmd/twinboot-runtime is this package as an
// executable (build/bin/twinboot-runtime), and `twinboot ct` is meant to
// call Main too.
//
//	twinboot-runtime [global flags] VERB [verb flags] ID [ARGS]
//
// Global flags: --root DIR (state directory, default /run/twinboot/runtime),
// --log FILE (errors are also written there), --log-format text|json,
// --debug (progress lines on stderr and in the log).
//
// Verbs: create [--bundle DIR] [--pid-file F] [--console-socket S] ID,
// start ID, state ID, kill [--all] ID [SIGNAL], delete [--force] ID,
// list [--format table|json] [--quiet], run [--bundle DIR] [--pid-file F]
// [--detach] [--keep] ID, exec [--env K=V] [--cwd DIR] [--user UID[:GID]]
// [--detach] [--pid-file F] ID -- CMD [ARGS].
//
// Flags engines pass that this runtime accepts without acting on them, and
// why that is safe:
//
//   - --systemd-cgroup: cgroups are made with cgroupfs, under the caller's
//     own cgroup, whatever the flag; the container still gets its limits.
//   - --rootless (true|false|auto): the runtime needs root and says so.
//   - --criu PATH: there is no checkpoint/restore verb, so never used.
//   - create/run --no-pivot: pivot_root is always tried first and a move of
//     the root is the fallback where pivot_root is impossible (an initramfs
//     root), which is what --no-pivot asks for.
//   - create/run --no-new-keyring: no session keyring is ever created.
//   - --console-socket: accepted only for a process without a terminal (the
//     socket is then never used, as with runc); process.terminal itself is
//     refused by the config check.
//   - kill --all: the signal goes to every process of the container's
//     cgroup, not only to its init (acted on).
//
// Exit status: 0 on success, 1 on any error (one line on stderr, and in the
// --log file), 2 for a command line this runtime cannot parse; `run` exits
// with the container's own status (128+N for a signal N).
package runtime

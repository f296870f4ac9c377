// Package vmm runs each VM in a small process of its own, as Firecracker
// runs one VMM process per microVM: the VM's memory, threads and peak
// resident set are that process's alone, so "VMM overhead" measures the
// VMM and not the program that asked for the VM (the compare engine, the
// lab's screen), and VMs that run at the same time share nothing.
//
// Reading order:
//
//  1. wire.go   what crosses between the two processes: the whole
//     hypervisor.Config as JSON on one pipe; events, then one Ended, as
//     JSON lines of the internal/event stream on another; the guest's
//     console on the VMM's stdout, the keys for its UART on its stdin.
//  2. main.go   the VMM process: read the config, boot the VM, stream its
//     events, report how it ended. SIGTERM or SIGINT stop the VM cleanly.
//  3. run.go    the caller's side: start the VMM (Pdeathsig: it dies with
//     its parent), relay, and turn Ended back into a Result and an error
//     that errors.Is recognises (hypervisor.ErrTimeout and the others).
//
// The VMM process is hypervisor/cmd/twinboot-vmm, a small static binary
// that links little more than package hypervisor, found beside the running
// executable or named by $TWINBOOT_VMM; without it, the running executable
// is re-executed as the VMM (package internal/reexec).
package vmm

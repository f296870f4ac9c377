// Package nested runs twinboot inside an emulated AMD-V machine, "L1", when
// the host has no hardware KVM.
//
// On machines whose /dev/kvm is missing or is a software virtualizer such as
// kvm_pvm, our hypervisor cannot bring a Linux guest to user space. QEMU can,
// however, emulate (TCG, no acceleration) a whole AMD CPU that includes SVM
// and nested paging. Debian's generic kernel booted on that CPU loads
// kvm-amd and offers a /dev/kvm that behaves like hardware-backed KVM. twinboot
// then runs inside L1 exactly as it would natively, and its events, stdout,
// stderr and exit status travel back to the host. Whether to go there is
// package internal/host's decision (host.Decide).
//
// Reading the files in this order tells the story:
//
//  1. l1.go         the one lifecycle every user of nested mode goes through:
//     prepare and boot on first use, run jobs one at a time with one
//     timeout policy (Job.Timeout), relay their input, stop.
//  2. kernel.go, pvh.go  Debian's linux-image-<abi>-amd64, fetched with
//     apt-get, with the four modules kvm-amd needs; the ELF vmlinux taken
//     out of the bzImage once, on the host, so that L1 boots through PVH
//     without decompressing under emulation (about 4 s saved per boot).
//  3. initramfs.go, peerfiles.go, layout.go  L1's root: this very twinboot
//     binary as /init with its container init and VMM beside it, busybox,
//     the modules, the guest artefacts and, for benchmarks, the peers
//     (written with guest.Archive).
//  4. machine.go    Prepare: the tools checked, the kernel and initramfs
//     cached, QEMU's command line.
//  5. init_linux.go L1's PID 1: it mounts the basics, loads the modules and
//     runs the jobs the host sends.
//  6. frame.go      the wire format on L1's second serial port, ttyS1. The
//     kernel logs to ttyS0 only, so nothing but our frames ever reaches
//     ttyS1, and each frame still carries a prefix that a log line cannot
//     start with by accident.
//  7. session.go, tail.go  one boot of L1 under QEMU: send jobs, relay what
//     comes back, say where L1 stopped when it fails.
//  8. jobio_linux.go, keys_linux.go  the keyboard's way in: a job may read
//     what the host sends (Job.Stdin) in input frames, on a pipe or on a pty
//     that L1 allocates (Job.TTY), which is how the lab's shells work in
//     nested mode; a stop frame ends a job (the lab's Ctrl-]) without ending
//     L1.
//  9. inside.go     the other end: EventTap, through which a command inside
//     L1 sends its events to the host.
//
// One boot serves many jobs (tests and benchmarks share a boot this way).
// Cancelling a job's context kills QEMU: L1 has no state worth saving.
//
// -M microvm is not used: on QEMU 7.2 it hung in 2 of 6 early boots by
// hand, and twice more here at "tsc: Unable to calibrate against PIT".
//
// Every figure measured in L1 is emulated: it says how fast QEMU's software
// CPU is, not how fast KVM is. Inside L1, TWINBOOT_NESTED=1 is set
// (host.InsideL1) and EventTap marks every Phase it forwards as Emulated.
package nested

// Package nested runs twinboot inside an emulated AMD-V machine, "L1", when
// the host has no hardware KVM.
//
// On machines whose /dev/kvm is missing or is a software virtualizer such as
// kvm_pvm, our hypervisor cannot bring a Linux guest to user space. QEMU can,
// however, emulate (TCG, no acceleration) a whole AMD CPU that includes SVM
// and nested paging. Debian's generic kernel booted on that CPU loads
// kvm-amd and offers a /dev/kvm that behaves like hardware-backed KVM. twinboot
// then runs inside L1 exactly as it would natively, and its events, stdout,
// stderr and exit status travel back to the host.
//
// The pieces:
//
//   - kernel.go fetches Debian's linux-image-<abi>-amd64 with apt-get and
//     keeps the kernel and the four modules kvm-amd needs; pvh.go takes the
//     ELF vmlinux out of the bzImage once, on the host, so that L1 boots
//     through PVH without decompressing under emulation (about 4 s saved
//     per boot);
//   - initramfs.go packs L1's root: this very twinboot binary as /init,
//     busybox, the modules and the guest artefacts;
//   - init_linux.go is L1's PID 1: it mounts the basics, loads the modules
//     and runs the jobs the host sends;
//   - frame.go is the wire format on L1's second serial port, ttyS1. The
//     kernel logs to ttyS0 only, so nothing but our frames ever reaches
//     ttyS1, and each frame still carries a prefix that a log line cannot
//     start with by accident;
//   - machine.go and session.go boot L1 under QEMU, send jobs and relay what
//     comes back;
//   - jobio_linux.go is the keyboard's way in: a job may read what the host
//     sends (Job.Stdin) in input frames, on a pipe or on a pty that L1
//     allocates (Job.TTY), which is how the lab's shells work in nested
//     mode; a stop frame ends a job (the lab's Ctrl-]) without ending L1.
//
// One boot serves many jobs: Machine.Boot returns a Session whose Run can be
// called again and again (tests and benchmarks share a boot this way).
// Cancelling a job's context kills QEMU: L1 has no state worth saving.
//
// -M microvm is not used: on QEMU 7.2 it hung in 2 of 6 early boots by
// hand, and twice more here at "tsc: Unable to calibrate against PIT".
//
// Every figure measured in L1 is emulated: it says how fast QEMU's software
// CPU is, not how fast KVM is. Inside L1, TWINBOOT_NESTED=1 is set and
// EventTap marks every Phase it forwards as Emulated.
package nested

// Package hypervisor is twinboot's virtual machine monitor: a small program
// that turns /dev/kvm into a computer and boots a Linux kernel on it.
//
// # The big picture
//
// KVM is a kernel module that runs guest code directly on the CPU and stops
// ("exits") back to us only when the guest does something the hardware cannot
// finish alone, such as touching an I/O port we emulate. Everything else a
// computer is made of we must provide ourselves, through a handful of ioctls.
// Reading the files in this order tells the whole story:
//
//  1. system_linux.go  open /dev/kvm, check the API, create an empty VM.
//  2. memory_linux.go  guest RAM: one anonymous mapping handed to KVM as
//     guest-physical memory. Nothing is written to it that the boot does not
//     need, so the host only spends RAM on what the guest touches.
//  3. layout.go        where things live in guest-physical memory.
//  4. vm_linux.go      the machine: memory, in-kernel interrupt controllers
//     and timer, the UART, the vCPUs, and the order they must be made in.
//  5. cpuid_amd64.go   what CPU the guest believes it has; here the guest
//     learns it is virtualised and gets kvm-clock.
//  6. gdt_amd64.go, pagetables_amd64.go, cpu_amd64.go  the vCPU's registers:
//     segments, page tables and control registers for the mode the kernel
//     expects to be entered in (64-bit long mode, or 32-bit protected mode).
//  7. bzimage.go, bootparams.go  the Linux x86 boot protocol for a bzImage:
//     the setup header, the "zero page", the e820 memory map.
//  8. pvh.go, pvh_start.go  the other door into Linux: an ELF vmlinux with a
//     PVH entry note (found by package elfnote), which skips the
//     decompressor.
//  9. load.go          reading a kernel and initrd, checking they fit, and
//     writing them and the command line into guest memory.
//  10. mptable.go      how the guest finds its CPUs and how ISA interrupts
//     (timer, UART) reach them.
//  11. serial.go, ioports.go  the legacy devices: a 16550 UART on COM1 and
//     an "I am done" exit port. Every other port is counted and ignored.
//  12. virtqueue.go    virtio's split virtqueue: how a guest hands a device
//     buffers in its own RAM, and why every index, address and length in it
//     is checked as hostile input.
//  13. virtio_mmio.go  the virtio-mmio transport: a device as a 4 KiB
//     window of registers and an interrupt line, no PCI, no ACPI; why gokvm's
//     virtio devices are not used.
//  14. virtio_blk.go   a disk on a raw image file (--disk FILE[,ro]).
//  15. virtio_net.go, tap_linux.go  a NIC on a TAP device (--tap NAME).
//  16. devices_linux.go  plugging the devices into the VM: windows, IRQs,
//     the kernel command line, and KVM's ioeventfd and irqfd, which let a
//     queue notification and an interrupt skip the trip out to us.
//  17. vcpu_linux.go, run_linux.go, exits.go  the run loop: KVM_RUN, read
//     why the guest stopped from the shared kvm_run page, emulate, repeat,
//     until the guest powers off, reboots, crashes or runs out of time.
//  18. console.go, smaps_linux.go, result.go  what the run measures: boot
//     phases on the host's monotonic clock, exits by reason, port and
//     device, and how much host memory the guest really used.
//
// The run ends in one of a few named ways (ExitReason): poweroff (exit
// port) and reboot (reboot=t's triple fault, announced on the console) are
// clean; a silent triple fault, a panic, a KVM internal error, an entry
// failure or a timeout are not.
//
// The public API is New, (*VM).Run and (*VM).Close; Result is what a run
// measured. Package hypervisor/vmm runs each VM in a small process of its
// own (hypervisor/cmd/twinboot-vmm), which is how twinboot's commands use
// this package; package hypervisor/elfnote reads the PVH note. Unsafe code lives only in *_unsafe.go files and x86-specific code
// in *_amd64.go files. The package builds everywhere but runs only on
// linux/amd64; elsewhere New returns ErrUnsupported (unsupported.go).
package hypervisor

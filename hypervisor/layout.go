package hypervisor

// Guest-physical memory layout. Everything the boot needs below 1 MiB sits
// in the first 640 KiB of conventional memory, where a PC BIOS would leave
// its tables; the kernel goes at 1 MiB (bzImage) or wherever its ELF headers
// say (PVH); the initrd goes as high as it may.
//
//	0x0000_0500  GDT (a few 8-byte descriptors)
//	0x0000_1000  PVH hvm_start_info, then its module list and memory map
//	0x0000_7000  boot_params, the bzImage "zero page"
//	0x0000_9000  page tables: PML4, PDPT, four page directories (4 GiB)
//	0x0002_0000  kernel command line
//	0x0009_fc00  MP floating pointer and MP configuration table (reserved)
//	0x000a_0000  legacy VGA/BIOS hole (reserved, not RAM to the guest)
//	0x0010_0000  bzImage protected-mode code (it decompresses itself higher)
//	top of RAM   initrd, page-aligned, ending at the top of RAM
//	0xd000_0000  virtio-mmio register windows, 4 KiB each (above MaxMem,
//	             below the I/O APIC); not RAM, so every access is an exit
const (
	pageSize = 4096

	gdtAddr       = 0x500
	pvhStartAddr  = 0x1000
	pvhModAddr    = 0x1100
	pvhMemmapAddr = 0x1200
	zeroPageAddr  = 0x7000
	pml4Addr      = 0x9000
	pdptAddr      = 0xa000
	pdAddr        = 0xb000 // four pages: 0xb000..0xefff
	cmdlineAddr   = 0x20000
	cmdlineMax    = 0x10000 // bytes reserved for the command line, NUL included

	// ebdaStart is where "RAM below 1 MiB" ends for the guest. Linux scans
	// the last KiB below it for an MP floating pointer.
	ebdaStart  = 0x9fc00
	mptableAdr = ebdaStart
	highMemory = 0x100000 // 1 MiB: the first byte of "extended" memory

	// bzImageLoadAddr is where the protected-mode part of a bzImage is
	// loaded; its 64-bit entry point is 0x200 bytes in.
	bzImageLoadAddr = highMemory

	// tssAddr and identityMapAddr are three and one pages KVM needs on Intel
	// to emulate real mode; they must not overlap RAM or devices, so they
	// sit just below the BIOS area at the top of 4 GiB, above MaxMem.
	tssAddr         = 0xfffbd000
	identityMapAddr = 0xfffbc000

	// virtioMMIOBase is the first virtio-mmio device's register window; the
	// next device's is virtioMMIOStride above it.
	virtioMMIOBase   = 0xd0000000
	virtioMMIOStride = 0x1000

	ioapicAddr = 0xfec00000
	lapicAddr  = 0xfee00000
)

// virtioIRQs are the interrupt lines virtio devices get, in device order:
// the ISA lines that nothing of ours or of a PC's usual wiring uses (0 timer,
// 1 keyboard, 2 cascade, 3 and 4 serial, 8 RTC, 13 FPU are taken). The MP
// table routes ISA IRQ n to I/O APIC pin n, edge-triggered, which is what an
// irqfd's pulse needs.
var virtioIRQs = []uint32{5, 6, 7, 9, 10, 11, 12, 14, 15}

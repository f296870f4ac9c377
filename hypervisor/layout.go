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

	ioapicAddr = 0xfec00000
	lapicAddr  = 0xfee00000
)

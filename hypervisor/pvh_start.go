package hypervisor

import "encoding/binary"

// hvm_start_info is the PVH counterpart of boot_params: a small structure
// whose address the kernel finds in EBX at its entry point. Version 1 adds
// the memory map, so no e820 is needed.
const (
	pvhMagic         = 0x336ec578 // "xEn3" with the high bit of the 'n' set
	pvhVersion       = 1
	pvhStartInfoSize = 56
	pvhModEntrySize  = 32
	pvhMemmapEntry   = 24
)

// pvhStartInfo returns hvm_start_info and, written separately at their
// addresses, the module list (the initrd, if any) and the memory map.
func pvhStartInfo(memSize, initrdAddr, initrdSize uint64) (start, mods, memmap []byte) {
	le := binary.LittleEndian
	mm := memoryMap(memSize)
	memmap = make([]byte, len(mm)*pvhMemmapEntry)
	for i, e := range mm {
		o := i * pvhMemmapEntry
		le.PutUint64(memmap[o:], e.Addr)
		le.PutUint64(memmap[o+8:], e.Size)
		le.PutUint32(memmap[o+16:], e.Type) // the same type numbers as e820
	}
	nmods := 0
	if initrdSize > 0 {
		nmods = 1
		mods = make([]byte, pvhModEntrySize)
		le.PutUint64(mods[0:], initrdAddr)
		le.PutUint64(mods[8:], initrdSize)
		// cmdline_paddr and reserved stay 0: the initrd takes no arguments.
	}
	start = make([]byte, pvhStartInfoSize)
	le.PutUint32(start[0:], pvhMagic)
	le.PutUint32(start[4:], pvhVersion)
	le.PutUint32(start[8:], 0) // flags
	le.PutUint32(start[12:], uint32(nmods))
	le.PutUint64(start[16:], pvhModAddr)
	le.PutUint64(start[24:], cmdlineAddr)
	le.PutUint64(start[32:], 0) // rsdp_paddr: no ACPI; CPUs come from the MP table
	le.PutUint64(start[40:], pvhMemmapAddr)
	le.PutUint32(start[48:], uint32(len(mm)))
	return start, mods, memmap
}

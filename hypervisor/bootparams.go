package hypervisor

import (
	"encoding/binary"
	"fmt"

	"github.com/bobuhiro11/gokvm/bootparam"
)

// boot_params ("the zero page") offsets outside the setup header.
const (
	bpE820Entries = 0x1e8 // u8: number of e820 entries
	bpE820Table   = 0x2d0 // 128 entries of 20 bytes: addr u64, size u64, type u32
	e820EntrySize = 20
	loaderUnknown = 0xff // type_of_loader for a loader without an assigned ID
)

// e820Entry is one range of the guest's physical memory map. The kernel
// takes this map as the truth about what is RAM; it never probes.
type e820Entry struct {
	Addr, Size uint64
	Type       uint32
}

// memoryMap is the guest's e820 map: conventional memory below the EBDA,
// the reserved area where the MP table and the legacy BIOS/VGA hole live,
// and everything from 1 MiB to the top as RAM.
func memoryMap(memSize uint64) []e820Entry {
	return []e820Entry{
		{Addr: 0, Size: ebdaStart, Type: bootparam.E820Ram},
		{Addr: ebdaStart, Size: highMemory - ebdaStart, Type: bootparam.E820Reserved},
		{Addr: highMemory, Size: memSize - highMemory, Type: bootparam.E820Ram},
	}
}

// zeroPage builds boot_params for a bzImage: the kernel's own setup header,
// with the loader's fields filled in, and the e820 map.
func zeroPage(k *bzImage, cmdlineLen int, initrdAddr, initrdSize, memSize uint64) ([]byte, error) {
	zp := make([]byte, pageSize)
	copy(zp[hdrSetupSects:], k.Header)
	le := binary.LittleEndian
	zp[hdrTypeOfLoader] = loaderUnknown
	le.PutUint32(zp[hdrCmdLinePtr:], cmdlineAddr)
	if cmdlineLen > 0 && uint32(cmdlineLen) > k.CmdlineSize {
		return nil, fmt.Errorf("%w: %d bytes, this kernel takes at most %d", ErrCmdlineTooLong, cmdlineLen, k.CmdlineSize)
	}
	le.PutUint32(zp[hdrRamdiskImage:], uint32(initrdAddr))
	le.PutUint32(zp[hdrRamdiskSize:], uint32(initrdSize))
	mm := memoryMap(memSize)
	zp[bpE820Entries] = byte(len(mm))
	for i, e := range mm {
		off := bpE820Table + i*e820EntrySize
		le.PutUint64(zp[off:], e.Addr)
		le.PutUint64(zp[off+8:], e.Size)
		le.PutUint32(zp[off+16:], e.Type)
	}
	return zp, nil
}

package hypervisor

import (
	"debug/elf"
	"fmt"
	"io"

	"github.com/twinboot/twinboot/hypervisor/elfnote"
)

// PVH is the second way into Linux: the hypervisor loads the uncompressed
// ELF vmlinux itself and jumps to an entry point the kernel advertises in an
// ELF note, in 32-bit protected mode with paging off. There is no
// decompressor and no real-mode setup code to run, which is why it boots
// faster. The note is Xen's XEN_ELFNOTE_PHYS32_ENTRY (Linux: CONFIG_PVH);
// package elfnote reads it.

// elfSegment is one PT_LOAD program header: copy FileSize bytes from Offset
// to guest-physical PAddr; the rest up to MemSize is zero (bss).
type elfSegment struct {
	PAddr, Offset, FileSize, MemSize uint64
}

// pvhKernel is what loading an ELF vmlinux needs.
type pvhKernel struct {
	Entry    uint32
	Segments []elfSegment
}

// end is the first guest-physical byte above every segment.
func (k *pvhKernel) end() uint64 {
	var end uint64
	for _, s := range k.Segments {
		if e := s.PAddr + s.MemSize; e > end {
			end = e
		}
	}
	return end
}

// parsePVH reads an ELF vmlinux and finds its PVH entry note and loadable
// segments. size is the file's length (for bounds checks).
func parsePVH(r io.ReaderAt, size int64) (*pvhKernel, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("%w: bad ELF file: %v", ErrNotKernel, err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 {
		return nil, fmt.Errorf("%w: ELF %v %v, want a 64-bit x86-64 vmlinux", Err32BitKernel, f.Class, f.Machine)
	}
	k := &pvhKernel{}
	found := false
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_NOTE:
			if found {
				continue
			}
			entry, ok, err := elfnote.FindPVHEntry(p.Open(), p.Filesz)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrNotKernel, err)
			}
			k.Entry, found = entry, ok
		case elf.PT_LOAD:
			s := elfSegment{PAddr: p.Paddr, Offset: p.Off, FileSize: p.Filesz, MemSize: p.Memsz}
			if s.FileSize > s.MemSize || s.Offset > uint64(size) || s.FileSize > uint64(size)-s.Offset {
				return nil, fmt.Errorf("%w: ELF segment at %#x claims %d bytes beyond the file", ErrNotKernel, s.PAddr, s.FileSize)
			}
			if s.PAddr+s.MemSize < s.PAddr {
				return nil, fmt.Errorf("%w: ELF segment at %#x wraps around", ErrNotKernel, s.PAddr)
			}
			if s.PAddr < highMemory && s.MemSize > 0 {
				return nil, fmt.Errorf("%w: ELF segment at %#x is below 1 MiB, where the boot tables live", ErrNotKernel, s.PAddr)
			}
			k.Segments = append(k.Segments, s)
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: %v", ErrNotKernel, elfnote.ErrNoPVH)
	}
	if len(k.Segments) == 0 {
		return nil, fmt.Errorf("%w: ELF file has no loadable segments", ErrNotKernel)
	}
	return k, nil
}

package compare

import (
	"debug/elf"
	"errors"
	"fmt"
)

// KernelImage is the in-memory footprint of a kernel image: what every VM
// adds to the host's RAM before its first process runs, and what a
// container never adds because it borrows the host's kernel.
type KernelImage struct {
	TextBytes uint64 // executable loadable segments
	DataBytes uint64 // the other loadable segments: rodata, data, bss, per-cpu
}

// Total is text plus data.
func (k KernelImage) Total() uint64 { return k.TextBytes + k.DataBytes }

// ErrNoLoadSegments means an ELF file has nothing to load: not a kernel.
var ErrNoLoadSegments = errors.New("no loadable segments")

// MeasureKernel reads the program headers of an ELF vmlinux. Segments, not
// sections, are what a loader copies into RAM, and MemSiz (not FileSiz)
// counts the zero-filled .bss the kernel claims at boot. A bzImage wraps
// the same vmlinux compressed, so the figure holds for both boot protocols.
func MeasureKernel(vmlinux string) (KernelImage, error) {
	f, err := elf.Open(vmlinux)
	if err != nil {
		return KernelImage{}, fmt.Errorf("measure kernel %s: %w", vmlinux, err)
	}
	defer f.Close()
	var k KernelImage
	var n int
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		n++
		if p.Flags&elf.PF_X != 0 {
			k.TextBytes += p.Memsz
		} else {
			k.DataBytes += p.Memsz
		}
	}
	if n == 0 {
		return KernelImage{}, fmt.Errorf("measure kernel %s: %w", vmlinux, ErrNoLoadSegments)
	}
	return k, nil
}

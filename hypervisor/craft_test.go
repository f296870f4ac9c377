package hypervisor

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// Hand-made kernels. They are not Linux, but they are what Linux's boot
// protocols describe: a bzImage setup header in front of 64-bit code, and an
// ELF file with a PVH note pointing at 32-bit code. Their code reads back
// the boot structures the VMM wrote (command line, initrd, memory map) and
// prints what it found, so the loaders are checked end to end on any KVM.

// bzPayload is entered at load address + 0x200 in 64-bit mode with RSI
// pointing at boot_params.
var bzPayload = []byte{
	0x66, 0xba, 0xf8, 0x03, // mov dx, 0x3f8
	0x8b, 0x86, 0x28, 0x02, 0x00, 0x00, // mov eax, [rsi+0x228]   ; cmd_line_ptr
	0x8a, 0x00, // mov al, [rax]                                 ; first byte of the command line
	0xee,                               // out dx, al
	0x8b, 0x86, 0x18, 0x02, 0x00, 0x00, // mov eax, [rsi+0x218]   ; ramdisk_image
	0x8a, 0x00, // mov al, [rax]                                 ; first byte of the initrd
	0xee,                               // out dx, al
	0x8a, 0x86, 0xe8, 0x01, 0x00, 0x00, // mov al, [rsi+0x1e8]    ; e820_entries
	0x04, '0', // add al, '0'
	0xee,       // out dx, al
	0xb0, '\n', // mov al, '\n'
	0xee,       // out dx, al
	0xb0, 0x00, // mov al, 0
	0xe6, 0xf4, // out 0xf4, al                                  ; poweroff, status 0
	0xf4, // hlt
}

// pvhPayload is entered in 32-bit protected mode with EBX pointing at
// hvm_start_info.
var pvhPayload = []byte{
	0x66, 0xba, 0xf8, 0x03, // mov dx, 0x3f8
	0x8a, 0x03, // mov al, [ebx]          ; magic's low byte, 0x78 'x'
	0xee,             // out dx, al
	0x8b, 0x43, 0x18, // mov eax, [ebx+24]  ; cmdline_paddr
	0x8a, 0x00, // mov al, [eax]
	0xee,             // out dx, al
	0x8b, 0x43, 0x10, // mov eax, [ebx+16]  ; modlist_paddr
	0x8b, 0x00, // mov eax, [eax]         ; first module's paddr
	0x8a, 0x00, // mov al, [eax]          ; first byte of the initrd
	0xee,             // out dx, al
	0x8a, 0x43, 0x30, // mov al, [ebx+48]   ; memmap_entries
	0x04, '0', // add al, '0'
	0xee,       // out dx, al
	0xb0, '\n', // mov al, '\n'
	0xee,    // out dx, al
	0xb0, 5, // mov al, 5
	0xe6, 0xf4, // out 0xf4, al             ; poweroff, status 5
	0xf4, // hlt
}

type bzOpts struct {
	version    uint16
	xloadflags uint16
	initSize   uint32
	truncateTo int // 0: keep everything
}

// craftBzImage builds a bzImage with one setup sector whose protected-mode
// part holds bzPayload at offset 0x200 (the 64-bit entry).
func craftBzImage(o bzOpts) []byte {
	if o.version == 0 {
		o.version = 0x020f
	}
	if o.initSize == 0 {
		o.initSize = 1 << 20
	}
	const setupSects = 1
	pm := make([]byte, 0x200+len(bzPayload))
	copy(pm[0x200:], bzPayload)
	for len(pm)%16 != 0 {
		pm = append(pm, 0)
	}
	img := make([]byte, (setupSects+1)*512, (setupSects+1)*512+len(pm))
	le := binary.LittleEndian
	img[hdrSetupSects] = setupSects
	le.PutUint32(img[hdrSysSize:], uint32(len(pm)/16))
	le.PutUint16(img[hdrBootFlag:], bootFlagValue)
	img[hdrJump], img[hdrJump+1] = 0xeb, byte(hdrEnd-(hdrJump+2)) // jmp over the header
	le.PutUint32(img[hdrMagic:], hdrMagicValue)
	le.PutUint16(img[hdrVersion:], o.version)
	img[hdrLoadFlags] = loadedHigh
	le.PutUint32(img[hdrInitrdAddrMax:], 0x7fffffff)
	le.PutUint16(img[hdrXLoadFlags:], o.xloadflags)
	le.PutUint32(img[hdrCmdlineSize:], 2047)
	le.PutUint64(img[hdrPrefAddress:], 0x1000000)
	le.PutUint32(img[hdrInitSize:], o.initSize)
	img = append(img, pm...)
	if o.truncateTo > 0 {
		img = img[:o.truncateTo]
	}
	return img
}

func validBzImage() []byte { return craftBzImage(bzOpts{xloadflags: xlfKernel64}) }

type elfOpts struct {
	class32 bool
	noNote  bool
}

// craftPVH builds a minimal ELF64 x86-64 executable: one PT_LOAD segment
// with pvhPayload at physical 0x100000 and one PT_NOTE with the PVH entry.
func craftPVH(o elfOpts) []byte {
	const (
		ehSize  = 64
		phSize  = 56
		entry   = 0x100000
		loadOff = 0x1000
	)
	le := binary.LittleEndian
	note := make([]byte, 12, 24)
	le.PutUint32(note[0:], 4)  // "Xen\0"
	le.PutUint32(note[4:], 4)  // a 32-bit entry address
	le.PutUint32(note[8:], 18) // XEN_ELFNOTE_PHYS32_ENTRY
	note = append(note, "Xen\x00"...)
	note = le.AppendUint32(note, entry)
	if o.noNote {
		le.PutUint32(note[8:], 17) // some other Xen note
	}
	noteOff := uint64(ehSize + 2*phSize)
	if o.class32 {
		// An i386 ELF32 header and nothing else: enough to be recognised.
		f := make([]byte, 52)
		copy(f, "\x7fELF")
		f[4], f[5], f[6] = 1, 1, 1 // ELFCLASS32, little-endian, version 1
		le.PutUint16(f[16:], 2)    // ET_EXEC
		le.PutUint16(f[18:], 3)    // EM_386
		le.PutUint32(f[20:], 1)
		le.PutUint16(f[40:], 52)
		return f
	}
	f := make([]byte, loadOff+len(pvhPayload))
	copy(f, "\x7fELF")
	f[4] = 2                   // ELFCLASS64
	f[5], f[6] = 1, 1          // little-endian, version 1
	le.PutUint16(f[16:], 2)    // ET_EXEC
	le.PutUint16(f[18:], 0x3e) // EM_X86_64
	le.PutUint32(f[20:], 1)
	le.PutUint64(f[24:], entry)
	le.PutUint64(f[32:], ehSize) // program headers follow the ELF header
	le.PutUint16(f[52:], ehSize)
	le.PutUint16(f[54:], phSize)
	le.PutUint16(f[56:], 2)
	ph := func(i int, typ uint32, flags uint32, off, addr, size uint64) {
		p := f[ehSize+i*phSize:]
		le.PutUint32(p[0:], typ)
		le.PutUint32(p[4:], flags)
		le.PutUint64(p[8:], off)
		le.PutUint64(p[16:], addr)
		le.PutUint64(p[24:], addr)
		le.PutUint64(p[32:], size)
		le.PutUint64(p[40:], size)
		le.PutUint64(p[48:], 4)
	}
	ph(0, uint32(1), 5, loadOff, entry, uint64(len(pvhPayload))) // PT_LOAD, r-x
	ph(1, uint32(4), 4, noteOff, 0, uint64(len(note)))           // PT_NOTE
	copy(f[noteOff:], note)
	copy(f[loadOff:], pvhPayload)
	return f
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

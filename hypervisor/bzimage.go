package hypervisor

import (
	"encoding/binary"
	"fmt"
)

// The x86 Linux boot protocol (Documentation/arch/x86/boot.rst) puts a
// "setup header" at offset 0x1f1 of a bzImage. It says how big the real-mode
// setup code is (we skip it: we enter the kernel in 64-bit mode ourselves),
// which protocol version the kernel speaks, where it wants to be loaded and
// how much room it needs to decompress itself.
const (
	hdrSetupSects    = 0x1f1 // u8: 512-byte sectors of real-mode setup code (0 means 4)
	hdrSysSize       = 0x1f4 // u32: protected-mode code size, in 16-byte paragraphs
	hdrBootFlag      = 0x1fe // u16: 0xaa55
	hdrJump          = 0x200 // u16: a jump over the header; its second byte gives the header's length
	hdrMagic         = 0x202 // u32: "HdrS"
	hdrVersion       = 0x206 // u16: boot protocol version, major<<8 | minor
	hdrTypeOfLoader  = 0x210 // u8: who loaded the kernel (0xff: a loader without an assigned ID)
	hdrLoadFlags     = 0x211 // u8: bit 0 LOADED_HIGH: protected-mode code goes at 1 MiB
	hdrRamdiskImage  = 0x218 // u32: initrd address, filled in by us
	hdrRamdiskSize   = 0x21c // u32: initrd size, filled in by us
	hdrCmdLinePtr    = 0x228 // u32: command line address, filled in by us
	hdrInitrdAddrMax = 0x22c // u32: highest address the initrd may end at
	hdrXLoadFlags    = 0x236 // u16: bit 0 XLF_KERNEL_64: has a 64-bit entry at +0x200
	hdrCmdlineSize   = 0x238 // u32: longest command line, without the NUL
	hdrPrefAddress   = 0x258 // u64: where the kernel wants to run (decompressed)
	hdrInitSize      = 0x260 // u32: bytes needed from pref_address while booting
	hdrEnd           = 0x264 // everything we read lies before this offset

	bootFlagValue  = 0xaa55
	hdrMagicValue  = 0x53726448 // "HdrS", little-endian
	minProtocol    = 0x0206     // 2.06: cmdline_size exists; initrd_addr_max is honest
	loadedHigh     = 1 << 0
	xlfKernel64    = 1 << 0
	entry64Offset  = 0x200 // the 64-bit entry point, from the start of protected-mode code
	sectorSize     = 512
	defaultSetup   = 4
	maxZeroPageHdr = 0x280 // the setup header never extends past this in boot_params
)

// bzImage is what the setup header tells us about a kernel image.
type bzImage struct {
	Version       uint16
	SetupSects    int
	PayloadOffset uint64 // file offset of the protected-mode code
	PayloadSize   uint64 // its length (the rest of the file)
	CmdlineSize   uint32
	InitrdAddrMax uint32
	PrefAddress   uint64
	InitSize      uint32
	// Header is the raw setup header, [0x1f1, end), copied into boot_params
	// as the protocol asks: fields we do not touch keep the kernel's values.
	Header []byte
}

// parseBzImage checks the setup header and returns what the loader needs.
// image holds the start of the file (at least its first 0x280 bytes when
// the file is that long) and size is the file's full length. It never
// panics on bad input: every offset is checked against the length first.
func parseBzImage(image []byte, size uint64) (*bzImage, error) {
	if len(image) < hdrEnd || size < uint64(len(image)) {
		return nil, fmt.Errorf("%w: %d bytes is too short for a bzImage header", ErrNotKernel, size)
	}
	le := binary.LittleEndian
	if le.Uint16(image[hdrBootFlag:]) != bootFlagValue || le.Uint32(image[hdrMagic:]) != hdrMagicValue {
		return nil, fmt.Errorf("%w: no boot sector flag 0xaa55 and \"HdrS\" magic", ErrNotKernel)
	}
	b := &bzImage{
		Version:       le.Uint16(image[hdrVersion:]),
		SetupSects:    int(image[hdrSetupSects]),
		CmdlineSize:   le.Uint32(image[hdrCmdlineSize:]),
		InitrdAddrMax: le.Uint32(image[hdrInitrdAddrMax:]),
		PrefAddress:   le.Uint64(image[hdrPrefAddress:]),
		InitSize:      le.Uint32(image[hdrInitSize:]),
	}
	if b.Version < minProtocol {
		return nil, fmt.Errorf("%w: version %d.%02d", ErrOldProtocol, b.Version>>8, b.Version&0xff)
	}
	if image[hdrLoadFlags]&loadedHigh == 0 {
		return nil, fmt.Errorf("%w: a zImage (loaded below 1 MiB), not a bzImage", ErrNotKernel)
	}
	if le.Uint16(image[hdrXLoadFlags:])&xlfKernel64 == 0 {
		return nil, fmt.Errorf("%w: XLF_KERNEL_64 is not set in xloadflags", Err32BitKernel)
	}
	if b.SetupSects == 0 {
		b.SetupSects = defaultSetup // protocol: 0 means the historical 4 sectors
	}
	b.PayloadOffset = uint64(b.SetupSects+1) * sectorSize
	sysSize := uint64(le.Uint32(image[hdrSysSize:])) * 16
	// syssize is rounded up to whole paragraphs, so allow up to 15 bytes less.
	if b.PayloadOffset >= size || size-b.PayloadOffset+15 < sysSize || sysSize == 0 {
		return nil, fmt.Errorf("%w: truncated bzImage: %d bytes, header promises %d of setup and %d of kernel",
			ErrNotKernel, size, b.PayloadOffset, sysSize)
	}
	b.PayloadSize = size - b.PayloadOffset
	end := uint64(hdrJump + 2 + int(image[hdrJump+1]))
	if end < hdrEnd {
		end = hdrEnd
	}
	if end > maxZeroPageHdr {
		end = maxZeroPageHdr
	}
	if end > uint64(len(image)) {
		end = uint64(len(image))
	}
	b.Header = append([]byte(nil), image[hdrSetupSects:end]...)
	return b, nil
}

// kernelEnd is the first guest-physical byte the kernel does not need while
// booting: beyond both the compressed image we load at 1 MiB and the area
// it decompresses into (pref_address + init_size).
func (b *bzImage) kernelEnd() uint64 {
	end := bzImageLoadAddr + b.PayloadSize
	if run := b.PrefAddress + uint64(b.InitSize); run > end {
		end = run
	}
	return end
}

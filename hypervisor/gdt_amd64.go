//go:build linux && amd64

package hypervisor

import (
	"encoding/binary"

	"github.com/bobuhiro11/gokvm/kvm"
)

// Segment selectors of the GDT we build. The Linux boot protocol asks for a
// flat code segment at 0x10 and a flat data segment at 0x18 when entering a
// bzImage in 64-bit mode; PVH enters in 32-bit protected mode, so there is a
// 32-bit code segment too. The kernel replaces this GDT with its own within
// a few instructions, but the CPU needs a valid one to get there.
const (
	selCode32 = 0x08
	selCode64 = 0x10
	selData   = 0x18
	selTSS    = 0x20
	gdtLen    = 5 // descriptors, including the null one
)

// Segment types (the low four bits of a descriptor's access byte).
const (
	segTypeCodeER   = 0xb // execute/read, accessed
	segTypeDataRW   = 0x3 // read/write, accessed
	segTypeTSSBusy  = 0xb // 32/64-bit TSS, busy (S=0)
	flatLimit       = 0xffffffff
	tssLimit        = 0x67 // the smallest valid TSS
	segmentPresent  = 1
	segmentCodeData = 1 // S bit: code or data, not a system segment
)

// flatSegment describes a segment covering all 4 GiB, as the CPU's hidden
// segment registers hold it. long selects a 64-bit code segment.
func flatSegment(sel uint16, typ uint8, long bool) kvm.Segment {
	s := kvm.Segment{
		Base: 0, Limit: flatLimit, Selector: sel, Typ: typ,
		Present: segmentPresent, S: segmentCodeData, G: 1, DB: 1,
	}
	if long {
		// A 64-bit code segment has L=1 and must have D=0.
		s.L, s.DB = 1, 0
	}
	return s
}

// tssSegment is the task register's segment. Intel VT-x refuses to enter a
// guest whose TR is not a present busy TSS, even though nothing uses it.
func tssSegment() kvm.Segment {
	return kvm.Segment{Limit: tssLimit, Selector: selTSS, Typ: segTypeTSSBusy, Present: segmentPresent}
}

// descriptor encodes s as an 8-byte GDT entry: base and limit are split
// across the entry for historical (80286) reasons.
func descriptor(s kvm.Segment) uint64 {
	limit := uint64(s.Limit)
	if s.G == 1 {
		limit >>= 12 // the limit counts 4 KiB pages
	}
	base := s.Base
	access := uint64(s.Typ) | uint64(s.S)<<4 | uint64(s.DPL)<<5 | uint64(s.Present)<<7
	flags := uint64(s.AVL) | uint64(s.L)<<1 | uint64(s.DB)<<2 | uint64(s.G)<<3
	return limit&0xffff |
		(base&0xffffff)<<16 |
		access<<40 |
		(limit>>16&0xf)<<48 |
		flags<<52 |
		(base>>24&0xff)<<56
}

// gdtBytes is the table written at gdtAddr.
func gdtBytes() []byte {
	entries := [gdtLen]uint64{
		0, // the null descriptor: selector 0 must never be usable
		descriptor(flatSegment(selCode32, segTypeCodeER, false)),
		descriptor(flatSegment(selCode64, segTypeCodeER, true)),
		descriptor(flatSegment(selData, segTypeDataRW, false)),
		descriptor(tssSegment()),
	}
	b := make([]byte, 8*len(entries))
	for i, e := range entries {
		binary.LittleEndian.PutUint64(b[8*i:], e)
	}
	return b
}

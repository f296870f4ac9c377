//go:build linux && amd64

package hypervisor

import (
	"encoding/binary"
	"strings"
	"testing"
)

// The structures the guest reads before it runs a line of its own code,
// checked against their specifications' known values.

func TestGDTDescriptors(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  uint64
		want uint64
	}{
		// The well-known flat descriptors every x86 boot loader writes.
		{"code32", descriptor(flatSegment(selCode32, segTypeCodeER, false)), 0x00cf9b000000ffff},
		{"code64", descriptor(flatSegment(selCode64, segTypeCodeER, true)), 0x00af9b000000ffff},
		{"data", descriptor(flatSegment(selData, segTypeDataRW, false)), 0x00cf93000000ffff},
		{"tss", descriptor(tssSegment()), 0x00008b0000000067},
	} {
		if tc.got != tc.want {
			t.Errorf("%s descriptor %#016x, want %#016x", tc.name, tc.got, tc.want)
		}
	}
	if g := gdtBytes(); len(g) != 8*gdtLen || binary.LittleEndian.Uint64(g) != 0 {
		t.Errorf("GDT of %d bytes, first entry %#x: want %d bytes and a null descriptor", len(g), binary.LittleEndian.Uint64(g), 8*gdtLen)
	}
}

func TestIdentityPageTables(t *testing.T) {
	pt := identityPageTables()
	if len(pt) != 2+mappedGiB {
		t.Fatalf("%d table pages, want %d", len(pt), 2+mappedGiB)
	}
	// Walk the tables by hand for a few addresses: each must map to itself.
	for _, va := range []uint64{0, 0x1000, 0x100000, 0x3ff000, 0x7fffffff, 0xbfe00000 + 0x1234} {
		pml4e := binary.LittleEndian.Uint64(pt[pml4Addr][8*(va>>39&511):])
		pdpte := binary.LittleEndian.Uint64(pt[pml4e&^0xfff][8*(va>>30&511):])
		pde := binary.LittleEndian.Uint64(pt[pdpte&^0xfff][8*(va>>21&511):])
		if pde&(ptePresent|pteHuge) != ptePresent|pteHuge {
			t.Fatalf("%#x: PDE %#x is not a present 2 MiB page", va, pde)
		}
		if pa := pde&^0x1fffff&^(1<<63) | va&0x1fffff; pa&^0xfff != va&^0xfff {
			t.Errorf("%#x maps to %#x", va, pa)
		}
	}
}

func TestMPTable(t *testing.T) {
	const cpus = 3
	b, err := mpTable(mptableAdr, cpus)
	if err != nil {
		t.Fatal(err)
	}
	fp, cfg := b[:mpFloatSize], b[mpFloatSize:]
	if string(fp[:4]) != "_MP_" || checksum(fp) != 0 {
		t.Errorf("floating pointer %q, checksum %d", fp[:4], checksum(fp))
	}
	if ptr := binary.LittleEndian.Uint32(fp[4:]); ptr != mptableAdr+mpFloatSize {
		t.Errorf("pointer to %#x, want %#x", ptr, mptableAdr+mpFloatSize)
	}
	if string(cfg[:4]) != "PCMP" || checksum(cfg) != 0 || int(binary.LittleEndian.Uint16(cfg[4:])) != len(cfg) {
		t.Errorf("config table %q, checksum %d, length %d of %d", cfg[:4], checksum(cfg), binary.LittleEndian.Uint16(cfg[4:]), len(cfg))
	}
	// Walk the entries: count CPUs (one boot CPU), and check that ISA IRQ n
	// goes to I/O APIC pin n, as KVM routes it.
	var procs, boot, irqs int
	e := cfg[mpHeaderSize:]
	for i := 0; i < int(binary.LittleEndian.Uint16(cfg[34:])); i++ {
		switch e[0] {
		case mpEntryProcessor:
			procs++
			if e[3]&mpCPUBoot != 0 {
				boot++
			}
			e = e[mpProcSize:]
			continue
		case mpEntryIOIntr:
			if e[5] != e[7] || e[6] != cpus {
				t.Errorf("ISA IRQ %d -> I/O APIC %d pin %d", e[5], e[6], e[7])
			}
			irqs++
		}
		e = e[mpSmallEntry:]
	}
	if procs != cpus || boot != 1 || irqs != isaIRQs || len(e) != 0 {
		t.Errorf("%d CPUs (%d boot), %d IRQ entries, %d bytes left: want %d, 1, %d, 0", procs, boot, irqs, len(e), cpus, isaIRQs)
	}
}

func TestZeroPage(t *testing.T) {
	k, err := parseBzImage(validBzImage(), uint64(len(validBzImage())))
	if err != nil {
		t.Fatal(err)
	}
	zp, err := zeroPage(k, 20, 0x1f00000, 0x1234, 32<<20)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if le.Uint32(zp[hdrMagic:]) != hdrMagicValue || zp[hdrTypeOfLoader] != loaderUnknown {
		t.Error("setup header not copied, or type_of_loader not set")
	}
	if le.Uint32(zp[hdrCmdLinePtr:]) != cmdlineAddr || le.Uint32(zp[hdrRamdiskImage:]) != 0x1f00000 || le.Uint32(zp[hdrRamdiskSize:]) != 0x1234 {
		t.Error("command line or initrd fields wrong")
	}
	if zp[bpE820Entries] != 3 {
		t.Fatalf("%d e820 entries, want 3", zp[bpE820Entries])
	}
	var ram uint64
	for i := 0; i < 3; i++ {
		e := zp[bpE820Table+i*e820EntrySize:]
		if le.Uint32(e[16:]) == 1 {
			ram += le.Uint64(e[8:])
		}
	}
	if ram != 32<<20-(highMemory-ebdaStart) {
		t.Errorf("e820 RAM %d bytes, want all but the legacy hole", ram)
	}
	if _, err := zeroPage(k, 3000, 0, 0, 32<<20); err == nil {
		t.Error("a command line longer than cmdline_size was accepted")
	}
}

func TestPVHStartInfo(t *testing.T) {
	start, mods, memmap := pvhStartInfo(64<<20, 0x3000000, 999)
	le := binary.LittleEndian
	if le.Uint32(start) != pvhMagic || le.Uint32(start[4:]) != 1 || le.Uint32(start[12:]) != 1 {
		t.Errorf("start info header % x", start[:16])
	}
	if le.Uint64(start[16:]) != pvhModAddr || le.Uint64(start[24:]) != cmdlineAddr || le.Uint64(start[40:]) != pvhMemmapAddr || le.Uint32(start[48:]) != 3 {
		t.Error("start info pointers wrong")
	}
	if le.Uint64(mods) != 0x3000000 || le.Uint64(mods[8:]) != 999 || len(memmap) != 3*pvhMemmapEntry {
		t.Error("module list or memory map wrong")
	}
	if _, mods, _ := pvhStartInfo(64<<20, 0, 0); mods != nil {
		t.Error("a module list without an initrd")
	}
}

func TestMappingRSS(t *testing.T) {
	smaps := `7f0000000000-7f0000001000 ---p 00000000 00:00 0
Size:                  4 kB
Rss:                   0 kB
7f0000001000-7f0000401000 rw-p 00000000 00:00 0
Size:               4096 kB
Rss:                 132 kB
Pss:                 132 kB
VmFlags: rd wr mr mw me nr
7f0000401000-7f0000402000 ---p 00000000 00:00 0
Rss:                   0 kB
7f0000402000-7f0000403000 rw-p 00000000 00:00 0
Rss:                   4 kB
`
	rss, err := mappingRSS(strings.NewReader(smaps), 0x7f0000001000, 0x7f0000401000)
	if err != nil || rss != 132<<10 {
		t.Errorf("rss %d, err %v: want %d", rss, err, 132<<10)
	}
	if _, err := mappingRSS(strings.NewReader(smaps), 0x1000, 0x2000); err == nil {
		t.Error("no error for a range with no mapping")
	}
}

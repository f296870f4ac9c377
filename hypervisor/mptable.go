package hypervisor

import (
	"encoding/binary"
	"fmt"
)

// The Intel MultiProcessor Specification (1.4) table is how a guest without
// ACPI learns how many CPUs it has and how interrupts are wired. Linux scans
// the last KiB below 640 KiB for the 16-byte "_MP_" floating pointer, which
// points at the "PCMP" configuration table: one entry per CPU, the ISA bus,
// the I/O APIC, and one entry per interrupt line saying which I/O APIC pin
// it arrives on.
//
// The interrupt entries are the part that is easy to get wrong. Without
// them Linux assumes the wiring of a real PC, where the timer (ISA IRQ 0)
// arrives on I/O APIC pin 2 because pin 0 carries the 8259 cascade. KVM's
// in-kernel irqchip instead routes GSI n to I/O APIC pin n, so the PIT's
// interrupt lands on pin 0, which Linux left masked, and the guest's timer
// stops after a few ticks. Declaring ISA IRQ n -> pin n for all 16 ISA IRQs
// makes the table say what KVM actually does.
const (
	mpFloatSize    = 16
	mpHeaderSize   = 44
	mpProcSize     = 20
	mpSmallEntry   = 8
	mpSpecRev      = 4 // MP spec 1.4
	mpLAPICVersion = 0x14
	mpIOAPICVer    = 0x11
	isaBusID       = 0
	isaIRQs        = 16
	uartIRQ        = 4 // COM1

	mpEntryProcessor = 0
	mpEntryBus       = 1
	mpEntryIOAPIC    = 2
	mpEntryIOIntr    = 3
	mpEntryLocalIntr = 4

	mpIntINT    = 0 // a vectored interrupt through the APIC
	mpIntNMI    = 1
	mpIntExtINT = 3 // passed through from an 8259 PIC

	mpCPUEnabled = 1 << 0
	mpCPUBoot    = 1 << 1
	mpAllLAPICs  = 0xff
)

// mpTable builds the floating pointer followed by the configuration table,
// to be written at guest-physical addr, for cpus vCPUs with APIC IDs 0..n-1.
// The I/O APIC gets ID cpus, the first one no CPU uses.
func mpTable(addr uint64, cpus int) ([]byte, error) {
	if cpus < 1 || cpus > MaxCPUs {
		return nil, fmt.Errorf("%w: %d", ErrBadCPUs, cpus)
	}
	ioapicID := byte(cpus)
	var entries [][]byte
	for i := 0; i < cpus; i++ {
		e := make([]byte, mpProcSize)
		e[0] = mpEntryProcessor
		e[1] = byte(i) // local APIC ID
		e[2] = mpLAPICVersion
		e[3] = mpCPUEnabled
		if i == 0 {
			e[3] |= mpCPUBoot
		}
		// CPU signature and feature flags stay 0: Linux takes them from CPUID.
		entries = append(entries, e)
	}
	entries = append(entries, append([]byte{mpEntryBus, isaBusID}, "ISA   "...))
	ioapic := make([]byte, mpSmallEntry)
	ioapic[0], ioapic[1], ioapic[2], ioapic[3] = mpEntryIOAPIC, ioapicID, mpIOAPICVer, 1 // enabled
	binary.LittleEndian.PutUint32(ioapic[4:], ioapicAddr)
	entries = append(entries, ioapic)
	for irq := 0; irq < isaIRQs; irq++ {
		// type, kind, flags (0: the bus's default polarity and trigger, which
		// for ISA is active-high, edge), source bus and IRQ, I/O APIC and pin.
		entries = append(entries, []byte{mpEntryIOIntr, mpIntINT, 0, 0, isaBusID, byte(irq), ioapicID, byte(irq)})
	}
	// LINT0 of every local APIC takes ExtINT from the PIC, LINT1 takes NMI,
	// as on a PC.
	entries = append(entries,
		[]byte{mpEntryLocalIntr, mpIntExtINT, 0, 0, isaBusID, 0, mpAllLAPICs, 0},
		[]byte{mpEntryLocalIntr, mpIntNMI, 0, 0, isaBusID, 0, mpAllLAPICs, 1})

	le := binary.LittleEndian
	cfg := make([]byte, mpHeaderSize)
	copy(cfg, "PCMP")
	cfg[6] = mpSpecRev
	copy(cfg[8:], "TWINBOOT")      // OEM ID, 8 bytes
	copy(cfg[16:], "LAB VM      ") // product ID, 12 bytes
	le.PutUint16(cfg[34:], uint16(len(entries)))
	le.PutUint32(cfg[36:], lapicAddr)
	for _, e := range entries {
		cfg = append(cfg, e...)
	}
	le.PutUint16(cfg[4:], uint16(len(cfg))) // base table length
	cfg[7] = checksum(cfg)

	fp := make([]byte, mpFloatSize)
	copy(fp, "_MP_")
	le.PutUint32(fp[4:], uint32(addr+mpFloatSize)) // the table follows the pointer
	fp[8] = 1                                      // length in 16-byte paragraphs
	fp[9] = mpSpecRev
	// feature bytes 11..15 stay 0: "a configuration table is present".
	fp[10] = checksum(fp)
	return append(fp, cfg...), nil
}

// checksum returns the byte that makes b (with that byte still 0) sum to
// zero modulo 256, as every MP structure must.
func checksum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return -s
}

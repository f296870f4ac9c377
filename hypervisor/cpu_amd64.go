//go:build linux && amd64

package hypervisor

import (
	"fmt"

	"github.com/bobuhiro11/gokvm/kvm"
)

// Control-register and EFER bits used to put a vCPU in the mode a kernel
// expects to be entered in.
const (
	cr0PE   = 1 << 0  // protected mode
	cr0ET   = 1 << 4  // extension type; always 1 on anything newer than a 386
	cr0PG   = 1 << 31 // paging
	cr4PAE  = 1 << 5  // 64-bit page-table entries; required for long mode
	eferLME = 1 << 8  // long mode enable
	eferLMA = 1 << 10 // long mode active (set with LME when paging is on)

	rflagsReserved = 1 << 1 // bit 1 of RFLAGS always reads as 1
)

// cpuMode is the processor mode a payload is entered in.
type cpuMode int

const (
	// modeReal is the 16-bit mode a PC powers on in; only the tests use it.
	modeReal cpuMode = iota
	// modeProtected is 32-bit protected mode without paging: the PVH entry.
	modeProtected
	// modeLong is 64-bit mode with identity paging: a bzImage's 64-bit entry.
	modeLong
)

func (m cpuMode) String() string {
	switch m {
	case modeReal:
		return "real"
	case modeProtected:
		return "protected"
	case modeLong:
		return "long"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// entryState is what the boot vCPU's registers hold at the first
// instruction: the mode, the instruction pointer and the one or two
// registers a boot protocol uses to pass a pointer.
type entryState struct {
	mode cpuMode
	rip  uint64
	rsi  uint64 // bzImage: address of boot_params
	rbx  uint64 // PVH: address of hvm_start_info
	rsp  uint64
}

// setupSregs puts the segment and control registers of the vCPU into
// e.mode. The GDT and page tables it points at must already be in guest
// memory (see writeCPUTables).
func setupSregs(vcpu uintptr, mode cpuMode) error {
	s, err := kvm.GetSregs(vcpu)
	if err != nil {
		return fmt.Errorf("KVM_GET_SREGS: %w", err)
	}
	switch mode {
	case modeReal:
		// Power-on state has CS base 0xffff0000 (the reset vector); a payload
		// loaded low wants a plain segment 0.
		for _, seg := range []*kvm.Segment{&s.CS, &s.DS, &s.ES, &s.FS, &s.GS, &s.SS} {
			seg.Base, seg.Selector = 0, 0
		}
	case modeProtected, modeLong:
		s.GDT = kvm.Descriptor{Base: gdtAddr, Limit: 8*gdtLen - 1}
		s.IDT = kvm.Descriptor{} // interrupts stay off until the kernel loads its IDT
		code := flatSegment(selCode32, segTypeCodeER, false)
		if mode == modeLong {
			code = flatSegment(selCode64, segTypeCodeER, true)
		}
		data := flatSegment(selData, segTypeDataRW, false)
		s.CS = code
		s.DS, s.ES, s.FS, s.GS, s.SS = data, data, data, data, data
		s.TR = tssSegment()
		s.CR0 = cr0PE | cr0ET
		s.CR4, s.EFER, s.CR3 = 0, 0, 0
		if mode == modeLong {
			s.CR3 = pml4Addr
			s.CR4 = cr4PAE
			s.CR0 |= cr0PG
			s.EFER = eferLME | eferLMA
		}
	default:
		return fmt.Errorf("set up vCPU: unknown mode %v", mode)
	}
	if err := kvm.SetSregs(vcpu, s); err != nil {
		return fmt.Errorf("KVM_SET_SREGS (%v mode): %w", mode, err)
	}
	return nil
}

// setupRegs sets the general-purpose registers for the first instruction.
func setupRegs(vcpu uintptr, e entryState) error {
	r := kvm.Regs{RIP: e.rip, RSI: e.rsi, RBX: e.rbx, RSP: e.rsp, RFLAGS: rflagsReserved}
	if err := kvm.SetRegs(vcpu, &r); err != nil {
		return fmt.Errorf("KVM_SET_REGS: %w", err)
	}
	return nil
}

// writeCPUTables writes the GDT and, for long mode, the identity page tables
// into guest memory.
func writeCPUTables(m *guestMemory, mode cpuMode) error {
	if mode == modeReal {
		return nil
	}
	if err := m.write(gdtAddr, gdtBytes()); err != nil {
		return fmt.Errorf("write GDT: %w", err)
	}
	if mode != modeLong {
		return nil
	}
	for addr, page := range identityPageTables() {
		if err := m.write(addr, page); err != nil {
			return fmt.Errorf("write page tables: %w", err)
		}
	}
	return nil
}

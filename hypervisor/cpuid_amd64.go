//go:build linux && amd64

package hypervisor

import (
	"fmt"
	"sync"

	"github.com/bobuhiro11/gokvm/kvm"
)

const (
	cpuidFeatures      = 0x1        // leaf 1: feature flags and the initial APIC ID
	cpuidTopology      = 0xb        // leaf 0xb: x2APIC topology, EDX = x2APIC ID
	cpuidHypervisorBit = 1 << 31    // leaf 1 ECX: "running under a hypervisor"
	cpuidKVMBase       = 0x40000000 // KVM's own leaves: signature "KVMKVMKVM", paravirt features
	maxCPUIDEntries    = 256
)

// supportedCPUID asks KVM which CPUID leaves it can present to a guest: the
// host CPU's features, minus what KVM cannot virtualise, plus KVM's own
// leaves at 0x40000000 (signature and paravirtual features such as
// kvm-clock).
//
// The answer depends only on the host and KVM, and asking costs about half a
// millisecond, so it is asked once per device per process.
func supportedCPUID(sys uintptr, device string) (*kvm.CPUID, error) {
	cpuidCache.Lock()
	defer cpuidCache.Unlock()
	if c, ok := cpuidCache.m[device]; ok {
		return c, nil
	}
	c := &kvm.CPUID{Nent: maxCPUIDEntries, Entries: make([]kvm.CPUIDEntry2, maxCPUIDEntries)}
	if err := kvm.GetSupportedCPUID(sys, c); err != nil {
		return nil, fmt.Errorf("KVM_GET_SUPPORTED_CPUID: %w", err)
	}
	cpuidCache.m[device] = c
	return c, nil
}

var cpuidCache = struct {
	sync.Mutex
	m map[string]*kvm.CPUID
}{m: map[string]*kvm.CPUID{}}

// guestCPUID returns the CPUID table for the vCPU whose APIC ID is apicID.
//
// Two edits matter, and a VMM that skips them boots a kernel that hangs:
//   - the hypervisor bit tells Linux to look at the 0x40000000 leaves, where
//     it finds KVM's signature and turns on kvm-clock. Without it Linux
//     believes it is on bare hardware, calibrates the TSC against the PIT by
//     polling I/O ports (each poll an exit), and, where exits are slow as in
//     nested mode, fails and stalls;
//   - each vCPU reports its own APIC ID (leaf 1 EBX[31:24], leaf 0xb EDX),
//     matching the MP table, or the kernel cannot tell its CPUs apart.
//
// We keep KVM's signature leaves exactly as KVM reported them.
func guestCPUID(supported *kvm.CPUID, apicID uint32) *kvm.CPUID {
	out := &kvm.CPUID{Nent: supported.Nent, Entries: make([]kvm.CPUIDEntry2, supported.Nent)}
	copy(out.Entries, supported.Entries[:supported.Nent])
	for i := range out.Entries {
		e := &out.Entries[i]
		switch e.Function {
		case cpuidFeatures:
			e.Ecx |= cpuidHypervisorBit
			e.Ebx = e.Ebx&0x00ffffff | apicID<<24
		case cpuidTopology:
			e.Edx = apicID
		}
	}
	return out
}

func setCPUID(vcpu uintptr, c *kvm.CPUID) error {
	if err := kvm.SetCPUID2(vcpu, c); err != nil {
		return fmt.Errorf("KVM_SET_CPUID2: %w", err)
	}
	return nil
}

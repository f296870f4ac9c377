package host

import (
	"os"
	"strings"
	"sync"
)

// KVM flavours.
const (
	FlavourVMX   = "vmx"     // kvm_intel: Intel VT-x
	FlavourSVM   = "svm"     // kvm_amd: AMD-V
	FlavourPVM   = "kvm_pvm" // software virtualizer: guests cannot reach user space
	FlavourNone  = "none"    // no /dev/kvm
	FlavourOther = "unknown"
)

// KVMInfo describes the host's /dev/kvm.
type KVMInfo struct {
	Present        bool   `json:"present"`         // /dev/kvm exists
	Usable         bool   `json:"usable"`          // and this process can open it
	Flavour        string `json:"flavour"`         // vmx, svm, kvm_pvm, none, unknown
	HardwareBacked bool   `json:"hardware_backed"` // VT-x or AMD-V underneath
	NestedPaging   bool   `json:"nested_paging"`   // EPT or NPT enabled
	Nested         bool   `json:"nested"`          // the module allows nested guests
	CPUFlag        string `json:"cpu_flag"`        // vmx or svm in /proc/cpuinfo, or ""
	Detail         string `json:"detail"`          // one line for humans
}

// sysRoot lets tests point the inspection at a fake /sys and /proc.
var sysRoot = "/"

func sysPath(p string) string { return strings.TrimSuffix(sysRoot, "/") + p }

// KVM is InspectKVM's answer, computed once per process: every command,
// the doctor, the results and the hypervisor's hints read the same fact.
var KVM = sync.OnceValue(InspectKVM)

// InspectKVM looks at /dev/kvm and at the modules under /sys/module to tell
// hardware-backed KVM from kvm_pvm. The module names are the ground truth:
// kvm_pvm registers the same /dev/kvm interface, so the device alone cannot
// tell them apart.
func InspectKVM() KVMInfo {
	var k KVMInfo
	st, err := os.Stat(sysPath("/dev/kvm"))
	k.Present = err == nil && st.Mode()&os.ModeCharDevice != 0
	if k.Present {
		if f, err := os.OpenFile(sysPath("/dev/kvm"), os.O_RDWR, 0); err == nil {
			k.Usable = true
			f.Close()
		}
	}
	k.CPUFlag = cpuVirtFlag()
	loaded := func(m string) bool {
		_, err := os.Stat(sysPath("/sys/module/" + m))
		return err == nil
	}
	param := func(m, p string) bool {
		b, err := os.ReadFile(sysPath("/sys/module/" + m + "/parameters/" + p))
		v := strings.TrimSpace(string(b))
		return err == nil && (v == "Y" || v == "1")
	}
	switch {
	case !k.Present:
		k.Flavour = FlavourNone
		k.Detail = "/dev/kvm is missing"
	case loaded("kvm_pvm"):
		// Checked before the vendor modules: kvm_pvm can be loaded beside
		// one that has no hardware to drive.
		k.Flavour = FlavourPVM
		k.Detail = "/dev/kvm is kvm_pvm, a software virtualizer without VT-x or AMD-V: a Linux guest cannot reach user space under it"
	case loaded("kvm_intel"):
		k.Flavour, k.HardwareBacked = FlavourVMX, true
		k.NestedPaging, k.Nested = param("kvm_intel", "ept"), param("kvm_intel", "nested")
		k.Detail = "/dev/kvm is kvm_intel (Intel VT-x)"
	case loaded("kvm_amd"):
		k.Flavour, k.HardwareBacked = FlavourSVM, true
		k.NestedPaging, k.Nested = param("kvm_amd", "npt"), param("kvm_amd", "nested")
		k.Detail = "/dev/kvm is kvm_amd (AMD-V)"
	default:
		k.Flavour = FlavourOther
		k.Detail = "/dev/kvm exists but neither kvm_intel, kvm_amd nor kvm_pvm is loaded"
	}
	if k.Present && !k.Usable {
		k.Detail += "; this process cannot open it (permissions?)"
	}
	return k
}

func cpuVirtFlag() string {
	for _, fl := range strings.Fields(cpuinfo(sysPath("/proc/cpuinfo"), "flags")) {
		if fl == "vmx" || fl == "svm" {
			return fl
		}
	}
	return ""
}

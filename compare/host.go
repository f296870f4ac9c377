package compare

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// HostFacts reads the facts that say where figures come from. A fact that
// cannot be read is left empty: it is context, not a measurement, and a
// missing CPU model must not stop an experiment.
func HostFacts() Host {
	h := Host{
		KernelRelease: readTrim("/proc/sys/kernel/osrelease"),
		BootID:        readTrim("/proc/sys/kernel/random/boot_id"),
		CPUModel:      cpuModel("/proc/cpuinfo"),
		CPUs:          runtime.NumCPU(),
		MemTotalKB:    memTotalKB("/proc/meminfo"),
		KVM:           KVMFlavour("/sys/module", "/dev/kvm"),
		Cgroup:        cgroupLayout("/sys/fs/cgroup"),
	}
	h.Hostname, _ = os.Hostname()
	return h
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func cpuModel(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func memTotalKB(path string) uint64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			n, _ := strconv.ParseUint(fields[1], 10, 64)
			return n
		}
	}
	return 0
}

// KVMFlavour names what backs /dev/kvm: "vmx" (kvm_intel), "svm" (kvm_amd),
// "kvm_pvm" (a software virtualizer under which a normal Linux guest cannot
// reach user space), "unknown" (a /dev/kvm from none of those) or "none".
// The loaded module is the reliable tell: the device node looks the same
// for all of them.
func KVMFlavour(sysModule, devKVM string) string {
	has := func(m string) bool {
		_, err := os.Stat(sysModule + "/" + m)
		return err == nil
	}
	switch {
	case has("kvm_pvm"):
		// Checked first: kvm_pvm can be loaded beside a vendor module that
		// has no hardware to drive.
		return "kvm_pvm"
	case has("kvm_intel"):
		return "vmx"
	case has("kvm_amd"):
		return "svm"
	}
	if _, err := os.Stat(devKVM); err == nil {
		return "unknown"
	}
	return "none"
}

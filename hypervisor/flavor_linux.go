package hypervisor

import "os"

// kvmFlavor names the KVM module behind /dev/kvm, as far as /sys/module
// tells: "kvm_intel" or "kvm_amd" (hardware virtualisation), "kvm_pvm" (a
// software virtualiser that runs only guests built for it), or "".
func kvmFlavor() string {
	for _, m := range []string{"kvm_intel", "kvm_amd", "kvm_pvm"} {
		if _, err := os.Stat("/sys/module/" + m); err == nil {
			return m
		}
	}
	return ""
}

// pvmHint explains a silent guest on kvm_pvm. PVM runs guest kernels in
// hardware ring 3 and only supports kernels built for it; an ordinary Linux
// kernel never gets as far as printing a byte. Tiny hand-made guests do
// run, which is why this is only a hint, given when nothing was printed.
const pvmHint = "this host's /dev/kvm is kvm_pvm, which cannot run an ordinary Linux kernel; use nested mode (--mode nested)"

package hypervisor

// pvmHint explains a silent guest on kvm_pvm (host.FlavourPVM). PVM runs
// guest kernels in hardware ring 3 and only supports kernels built for it;
// an ordinary Linux kernel never gets as far as printing a byte. Tiny
// hand-made guests do run, which is why this is only a hint, given when
// nothing was printed.
const pvmHint = "this host's /dev/kvm is kvm_pvm, which cannot run an ordinary Linux kernel; use nested mode (--mode nested)"

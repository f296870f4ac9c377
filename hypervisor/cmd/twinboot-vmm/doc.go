// Command twinboot-vmm runs one VM: the VMM process of package
// hypervisor/vmm. Its parent sends the VM's config on fd 3 and reads the
// VM's events on fd 4; the guest's console comes out on stdout, and stdin
// feeds the guest's UART. It links package hypervisor and little else (no
// CLI, no screen, no experiment engine), so that the VMM overhead a run
// reports is the VMM's own.
package main

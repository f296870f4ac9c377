//go:build linux && amd64

package hypervisor

import "github.com/twinboot/twinboot/guest/report"

// exitPort is the probe's "I am done" port: a one-byte write there ends the
// run, and the byte is the guest's exit status. QEMU's isa-debug-exit
// device is conventionally put on the same port.
const exitPort = report.ExitPort

// portIO dispatches one port access of an IO exit. Ports of the UART go to
// it; the exit port stops the VM; every other port is counted (by the
// caller) and ignored, with reads returning all ones as a port with nothing
// behind it does on a real ISA bus.
func (vm *VM) portIn(port uint16, data []byte) {
	if port >= com1Base && port < com1Base+com1Len && len(data) == 1 {
		data[0] = vm.uart.in(port - com1Base)
		return
	}
	for i := range data {
		data[i] = 0xff
	}
}

// portOut handles a write. It returns true when the write ends the run.
func (vm *VM) portOut(port uint16, data []byte) bool {
	switch {
	case port >= com1Base && port < com1Base+com1Len && len(data) == 1:
		vm.uart.write(port-com1Base, data[0])
	case port == exitPort && len(data) >= 1:
		vm.stop(ReasonPoweroff, int(data[0]), nil)
		return true
	}
	return false
}

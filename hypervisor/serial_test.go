package hypervisor

import (
	"bytes"
	"testing"
)

// The UART at register level, as the Linux 8250 driver exercises it.
func TestUARTRegisters(t *testing.T) {
	var out bytes.Buffer
	var irq []bool
	u := newUART(func(b byte) { out.WriteByte(b) }, func(h bool) error { irq = append(irq, h); return nil }, nil)

	// Autoconfiguration: IER keeps its low four bits; the scratch register
	// keeps a byte; with FIFOs enabled IIR says "16550A".
	u.write(uartIER, 0xff)
	if v := u.in(uartIER); v != 0x0f {
		t.Errorf("IER reads %#x after writing 0xff, want 0x0f", v)
	}
	u.write(uartIER, 0)
	u.write(uartSCR, 0xa5)
	if v := u.in(uartSCR); v != 0xa5 {
		t.Errorf("scratch reads %#x", v)
	}
	u.write(uartIIRFCR, fcrEnable)
	if v := u.in(uartIIRFCR); v != iirFIFOsOn|iirNone {
		t.Errorf("IIR %#x, want %#x", v, iirFIFOsOn|iirNone)
	}
	// DLAB hides THR and IER behind the divisor latch.
	u.write(uartLCR, lcrDLAB)
	u.write(uartRBRTHR, 1)
	u.write(uartIER, 0)
	u.write(uartLCR, 0x03)
	if out.Len() != 0 {
		t.Errorf("divisor writes reached the console: %q", out.String())
	}
	// (Writing 0xff to IER above raised and dropped IRQ 4, rightly.)
	irq = nil
	// Transmit: the bytes come out, THR always reads empty.
	u.write(uartRBRTHR, 'o')
	u.write(uartRBRTHR, 'k')
	if out.String() != "ok" || u.in(uartLSR)&(lsrTHREmpty|lsrTxIdle) != lsrTHREmpty|lsrTxIdle {
		t.Errorf("console %q, LSR %#x", out.String(), u.in(uartLSR))
	}
	if len(irq) != 0 {
		t.Errorf("interrupts %v with IER = 0", irq)
	}
	// "THR empty" interrupt: raised when enabled, acknowledged by reading
	// IIR, raised again by the next byte, dropped when disabled.
	u.write(uartIER, ierTxIdle)
	if v := u.in(uartIIRFCR) & 0x0f; v != iirTxIdle {
		t.Errorf("IIR %#x after enabling THRI, want %#x", v, iirTxIdle)
	}
	if v := u.in(uartIIRFCR) & 0x0f; v != iirNone {
		t.Errorf("IIR %#x after acknowledging, want none", v)
	}
	u.write(uartRBRTHR, '!')
	u.write(uartIER, 0)
	if want := []bool{true, false, true, false}; !equalBools(irq, want) {
		t.Errorf("IRQ 4 levels %v, want %v", irq, want)
	}
	// Receive: data ready in LSR, the byte from RBR, an interrupt if enabled.
	irq = nil
	u.write(uartIER, ierRxData)
	u.receive([]byte("x"))
	if u.in(uartLSR)&lsrDataReady == 0 || u.in(uartIIRFCR)&0x0f != iirRxData {
		t.Error("received byte not signalled")
	}
	if b := u.in(uartRBRTHR); b != 'x' || u.in(uartLSR)&lsrDataReady != 0 {
		t.Errorf("RBR %q, LSR still data-ready", b)
	}
	if want := []bool{true, false}; !equalBools(irq, want) {
		t.Errorf("IRQ 4 levels %v, want %v", irq, want)
	}
	// Loopback, the driver's self-test: what is sent is received.
	u.write(uartMCR, mcrLoop)
	u.write(uartRBRTHR, 'L')
	if b := u.in(uartRBRTHR); b != 'L' {
		t.Errorf("loopback read %q", b)
	}
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

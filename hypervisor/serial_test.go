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

// Input that arrives before the guest's driver is ready (a piped script) is
// held until the driver enables the receive interrupt: the probe and
// start-up reads of the receiver, and its FIFO flushes, take none of it.
// Then it arrives whole, in order, never more than a FIFO's worth at a time.
func TestUARTInputHeldUntilReady(t *testing.T) {
	u := newUART(func(byte) {}, func(bool) error { return nil }, nil)
	script := []byte("echo marker-$((6*7))\nexit\n" + string(bytes.Repeat([]byte("x"), 40)))
	u.receive(script)

	// What the 8250 driver does before the port is opened: flush the
	// FIFOs, read LSR, RX, IIR and MSR to clear them, and the RX again.
	u.write(uartIIRFCR, fcrEnable|fcrClearRx|1<<2)
	for i := 0; i < 3; i++ {
		if u.in(uartLSR)&lsrDataReady != 0 {
			t.Fatal("data ready before the driver enabled receiving")
		}
		u.in(uartRBRTHR)
		u.in(uartIIRFCR)
		u.in(uartMSR)
	}
	// Start-up: receive interrupts on. From here the guest reads.
	u.write(uartIER, ierRxData)
	var got []byte
	for reads := 0; u.in(uartLSR)&lsrDataReady != 0; reads++ {
		if len(u.rx) > uartFIFOLen {
			t.Fatalf("FIFO holds %d bytes, more than %d", len(u.rx), uartFIFOLen)
		}
		if reads > 1000 {
			t.Fatal("no end to the data")
		}
		got = append(got, u.in(uartRBRTHR))
	}
	if !bytes.Equal(got, script) {
		t.Errorf("guest read %q, want %q", got, script)
	}
	// A flush with bytes still unread puts them back in front.
	u.receive([]byte("abc"))
	first := u.in(uartRBRTHR)
	u.write(uartIIRFCR, fcrEnable|fcrClearRx)
	u.write(uartIER, ierRxData)
	rest := []byte{u.in(uartRBRTHR), u.in(uartRBRTHR)}
	if first != 'a' || string(rest) != "bc" {
		t.Errorf("after a flush read %q then %q, want a then bc", first, rest)
	}
}

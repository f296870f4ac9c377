package hypervisor

import "sync"

// A 16550A UART at COM1 (ports 0x3f8..0x3ff, ISA IRQ 4): the guest's
// console, and the only way it talks to us besides the exit port.
//
// Emulating it means answering the kernel's driver at the register level.
// Transmission is instant: a byte written to THR goes straight to our
// output buffer, so the transmitter always reads "empty". The interesting
// part is interrupts: the driver sends user-space output (everything the
// probe prints) by waiting for a "transmitter empty" interrupt, so a UART
// that never raises IRQ 4 stalls the guest's output after the first few
// bytes.
const (
	com1Base = 0x3f8
	com1Len  = 8

	// Register offsets from com1Base. DLAB (LCR bit 7) turns 0 and 1 into
	// the baud-rate divisor latch, which we store and ignore.
	uartRBRTHR = 0 // read: received byte; write: byte to send
	uartIER    = 1 // interrupt enable
	uartIIRFCR = 2 // read: interrupt identification; write: FIFO control
	uartLCR    = 3 // line control
	uartMCR    = 4 // modem control
	uartLSR    = 5 // line status
	uartMSR    = 6 // modem status
	uartSCR    = 7 // scratch

	ierRxData = 1 << 0 // interrupt when a byte arrives
	ierTxIdle = 1 << 1 // interrupt when THR is empty

	iirNone    = 0x01 // no interrupt pending
	iirTxIdle  = 0x02
	iirRxData  = 0x04
	iirFIFOsOn = 0xc0 // "16550A with working FIFOs"

	fcrEnable   = 1 << 0
	fcrClearRx  = 1 << 1
	uartFIFOLen = 16 // a 16550A's receive FIFO

	lcrDLAB = 1 << 7

	lsrDataReady = 1 << 0
	lsrTHREmpty  = 1 << 5
	lsrTxIdle    = 1 << 6

	mcrLoop = 1 << 4
	// Modem status with carrier, data set ready and clear to send: a
	// terminal is attached and ready.
	msrReady = 0xb0
)

// uart is the device state. Its methods are called by the vCPU that exits on
// a COM1 port, and feed by the input goroutine; mu guards everything.
type uart struct {
	mu sync.Mutex

	ier, lcr, mcr, scr, fcr byte
	dll, dlm                byte
	txIdlePending           bool // "THR empty" interrupt not yet acknowledged
	// rx is the receive FIFO, at most uartFIFOLen bytes, as the guest's
	// driver sees it. pending holds the input that has arrived from the
	// host but is not in the FIFO yet: everything until the driver has
	// enabled the receive interrupt (before that, its probe and start-up
	// read and flush the receiver, and would eat the first bytes of a
	// piped script), then whatever does not fit. A byte moves from pending
	// to rx only when there is room, so nothing overruns and nothing is
	// lost.
	rx      []byte
	pending []byte
	irqHigh bool // what we last told KVM about IRQ 4

	out   func(b byte)           // receives each transmitted byte (buffered downstream)
	setIR func(level bool) error // drives ISA IRQ 4
	onErr func(err error)        // reports a failure to drive the IRQ line
}

func newUART(out func(byte), setIRQ func(bool) error, onErr func(error)) *uart {
	return &uart{out: out, setIR: setIRQ, onErr: onErr}
}

// in handles a guest read of port com1Base+off.
func (u *uart) in(off uint16) byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	var v byte
	switch off {
	case uartRBRTHR:
		if u.lcr&lcrDLAB != 0 {
			return u.dll
		}
		if len(u.rx) > 0 {
			v, u.rx = u.rx[0], u.rx[1:]
			u.refill()
		}
	case uartIER:
		if u.lcr&lcrDLAB != 0 {
			return u.dlm
		}
		v = u.ier
	case uartIIRFCR:
		v = u.iir()
		if v&0x0f == iirTxIdle {
			// Reading IIR while it reports "THR empty" acknowledges it.
			u.txIdlePending = false
		}
		if u.fcr&fcrEnable != 0 {
			v |= iirFIFOsOn
		}
	case uartLCR:
		v = u.lcr
	case uartMCR:
		v = u.mcr
	case uartLSR:
		v = lsrTHREmpty | lsrTxIdle
		if len(u.rx) > 0 {
			v |= lsrDataReady
		}
	case uartMSR:
		v = msrReady
		if u.mcr&mcrLoop != 0 {
			// Loopback: the modem outputs (DTR, RTS, OUT1, OUT2) appear on the
			// inputs (DSR, CTS, RI, DCD); the driver's self-test checks this.
			v = (u.mcr&0x01)<<5 | (u.mcr&0x02)<<3 | (u.mcr&0x04)<<4 | (u.mcr&0x08)<<4
		}
	case uartSCR:
		v = u.scr
	}
	u.updateIRQ()
	return v
}

// out handles a guest write of v to port com1Base+off.
func (u *uart) write(off uint16, v byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	switch off {
	case uartRBRTHR:
		if u.lcr&lcrDLAB != 0 {
			u.dll = v
			return
		}
		if u.mcr&mcrLoop != 0 {
			// Loopback: what we send, we receive (the driver's
			// self-test); a full FIFO overruns, as in hardware.
			if len(u.rx) < uartFIFOLen {
				u.rx = append(u.rx, v)
			}
		} else {
			u.out(v)
		}
		// Sent at once, so THR is empty again: that is an interrupt if enabled.
		u.txIdlePending = true
	case uartIER:
		if u.lcr&lcrDLAB != 0 {
			u.dlm = v
			return
		}
		u.ier = v & 0x0f
		// Enabling the "THR empty" interrupt while THR is empty raises it
		// at once; Linux relies on this to start transmitting.
		u.txIdlePending = u.ier&ierTxIdle != 0
		// Enabling "data available" says the driver is ready to read.
		u.refill()
	case uartIIRFCR:
		u.fcr = v
		if v&fcrClearRx != 0 {
			// The driver flushes the receiver (at start-up and shut-down).
			// Bytes it has not read go back to the head of the queue
			// rather than away: nobody typed them for the flush.
			u.pending = append(u.rx, u.pending...)
			u.rx = nil
		}
	case uartLCR:
		u.lcr = v
	case uartMCR:
		u.mcr = v
	case uartSCR:
		u.scr = v
	}
	u.updateIRQ()
}

// receive queues input bytes for the guest (the lab's shell) and raises the
// "data available" interrupt if the guest enabled it.
func (u *uart) receive(b []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.pending = append(u.pending, b...)
	u.refill()
	u.updateIRQ()
}

// refill moves queued input into the FIFO, as far as it has room, once the
// driver reads with interrupts (see pending).
func (u *uart) refill() {
	if u.ier&ierRxData == 0 || u.mcr&mcrLoop != 0 {
		return
	}
	n := min(uartFIFOLen-len(u.rx), len(u.pending))
	if n <= 0 {
		return
	}
	u.rx = append(u.rx, u.pending[:n]...)
	u.pending = u.pending[n:]
}

// detach cuts the UART off from the VM: after Close, input that still
// arrives must not drive an interrupt line on a descriptor that is gone.
func (u *uart) detach() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.setIR = nil
}

// iir is the highest-priority pending interrupt.
func (u *uart) iir() byte {
	switch {
	case u.ier&ierRxData != 0 && len(u.rx) > 0:
		return iirRxData
	case u.ier&ierTxIdle != 0 && u.txIdlePending:
		return iirTxIdle
	}
	return iirNone
}

// updateIRQ drives IRQ 4 to match iir(). ISA interrupts are edge-triggered:
// the I/O APIC latches a rising edge, so the line only has to follow "is
// anything pending", and each new cause after an acknowledgement produces a
// new edge. We only call KVM when the level changes.
func (u *uart) updateIRQ() {
	high := u.iir() != iirNone
	if high == u.irqHigh || u.setIR == nil {
		return
	}
	u.irqHigh = high
	if err := u.setIR(high); err != nil && u.onErr != nil {
		u.onErr(err)
	}
}

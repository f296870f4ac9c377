//go:build linux

package hypervisor

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
)

// virtio-mmio (virtio 1.x, section 4.2) is the simplest way to give a guest a
// virtio device: a 4 KiB window of registers at a fixed guest-physical
// address and an interrupt line, both announced on the kernel command line
// (virtio_mmio.device=4K@0xd0000000:5). There is no PCI bus to enumerate and
// no ACPI table to write; Firecracker does the same.
//
// Guest RAM is the only memory slot, so every guest access to the window
// finds no memory behind it and KVM hands it to us as an MMIO exit: a
// register read or write is a trip out of the guest, and the run loop
// counts it per device. The one register the guest writes on the hot path,
// QueueNotify ("I put buffers in queue n"), is instead bound to an eventfd
// with KVM_IOEVENTFD: KVM completes that write in the kernel and signals
// the eventfd, and a goroutine of ours wakes up to process the queue while
// the vCPU goes straight back into the guest. Interrupts go the other way
// through KVM_IRQFD: writing to an eventfd raises the device's interrupt
// line in the in-kernel I/O APIC without an ioctl. devices_linux.go wires
// both; without them (a KVM that lacks them) the same work happens on the
// MMIO exit and with KVM_IRQ_LINE.
//
// Only the "modern" interface (version 2, VIRTIO_F_VERSION_1) is offered:
// queues are given by three 64-bit addresses, not a legacy page number.
//
// gokvm has virtio-net and virtio-blk devices, but they do not fit: they
// are legacy virtio over PCI I/O ports (a queue page number, a fixed queue
// size of 32), they overlay a Go struct on guest memory with unsafe and
// trust every index and address in it, and its TAP asks for SIGIO on every
// packet. What is taken from them is the shape: a device is a register
// file plus queues plus a backend.
const (
	mmioWindow = 0x1000 // each device's register window

	mmioMagicValue        = 0x000 // "virt"
	mmioVersion           = 0x004 // 2: modern
	mmioDeviceID          = 0x008
	mmioVendorID          = 0x00c
	mmioDeviceFeatures    = 0x010
	mmioDeviceFeaturesSel = 0x014
	mmioDriverFeatures    = 0x020
	mmioDriverFeaturesSel = 0x024
	mmioQueueSel          = 0x030
	mmioQueueNumMax       = 0x034
	mmioQueueNum          = 0x038
	mmioQueueReady        = 0x044
	mmioQueueNotify       = 0x050
	mmioInterruptStatus   = 0x060
	mmioInterruptACK      = 0x064
	mmioStatus            = 0x070
	mmioQueueDescLow      = 0x080
	mmioQueueDescHigh     = 0x084
	mmioQueueDriverLow    = 0x090 // the avail ring
	mmioQueueDriverHigh   = 0x094
	mmioQueueDeviceLow    = 0x0a0 // the used ring
	mmioQueueDeviceHigh   = 0x0a4
	mmioConfigGeneration  = 0x0fc
	mmioConfig            = 0x100 // device-specific configuration space

	mmioMagic    = 0x74726976 // "virt", little-endian
	mmioVendor   = 0x4e425754 // "TWBN": any value; Linux does not check it
	mmioVersion2 = 2

	// Device status bits (section 2.1).
	statusAcknowledge = 1
	statusDriver      = 2
	statusDriverOK    = 4
	statusFeaturesOK  = 8
	statusNeedsReset  = 64
	statusFailed      = 128

	// Interrupt status bits.
	intUsedBuffer   = 1 // a queue has used buffers
	intConfigChange = 2 // configuration (or DEVICE_NEEDS_RESET) changed

	// featureVersion1 is VIRTIO_F_VERSION_1: this is a virtio 1.x device.
	featureVersion1 = uint64(1) << 32
)

// virtioDevice is what a device model (blk, net) gives the transport.
type virtioDevice interface {
	kind() string     // "virtio-blk", "virtio-net"
	deviceID() uint32 // virtio device ID: 1 net, 2 block
	features() uint64 // device-specific feature bits it offers
	queueCount() int
	config() []byte // its configuration space, as the guest reads it
	// notify is called when the driver says queue q has new buffers.
	notify(t *transport, q int)
	// activate is called when the driver sets DRIVER_OK; reset when it
	// writes 0 to the status register (and when the VM closes).
	activate(t *transport)
	reset()
}

// transport is one virtio-mmio device: its registers, its queues and what
// it counted. Registers are guarded by mu; each queue has its own lock, held
// while it is processed, so that a slow disk request does not hold up the
// register accesses of the vCPU.
type transport struct {
	name string // "blk0", "net0"
	base uint64 // guest-physical address of the register window
	irq  uint32
	mem  *guestMemory
	dev  virtioDevice

	mu          sync.Mutex
	status      uint32
	devFeatSel  uint32
	drvFeatSel  uint32
	drvFeatures uint64
	queueSel    uint32
	broken      string // why the device stopped, once it has

	qmu    []sync.Mutex
	queues []virtqueue

	intStatus atomic.Uint32
	// signal raises the interrupt line: irqfd or KVM_IRQ_LINE.
	signal func() error

	stats deviceCounters
}

// deviceCounters are what a device counts, updated atomically from the
// vCPU threads and the device's own goroutines.
type deviceCounters struct {
	mmioExits   atomic.Uint64 // register accesses that trapped to us
	notifyExits atomic.Uint64 // QueueNotify writes that came as MMIO exits
	notifies    atomic.Uint64 // QueueNotify writes KVM passed on through ioeventfd
	interrupts  atomic.Uint64
	requests    atomic.Uint64 // chains completed
	failed      atomic.Uint64 // requests answered with an error status
	dropped     atomic.Uint64 // frames dropped (net)
	flushes     atomic.Uint64
	bytesRead   atomic.Uint64 // from the backend into the guest
	bytesWrite  atomic.Uint64 // from the guest into the backend
}

func newTransport(name string, base uint64, irq uint32, mem *guestMemory, dev virtioDevice) *transport {
	n := dev.queueCount()
	return &transport{name: name, base: base, irq: irq, mem: mem, dev: dev,
		qmu: make([]sync.Mutex, n), queues: make([]virtqueue, n), signal: func() error { return nil }}
}

// contains says whether guest-physical addr is in this device's window.
func (t *transport) contains(addr uint64) bool { return addr >= t.base && addr-t.base < mmioWindow }

// read answers a guest read of len(data) bytes at offset off of the window.
// Registers are 32 bits wide; any other access to them reads as zero.
func (t *transport) read(off uint64, data []byte) {
	t.stats.mmioExits.Add(1)
	clear(data)
	if off >= mmioConfig {
		cfg := t.dev.config()
		if o := off - mmioConfig; o < uint64(len(cfg)) {
			copy(data, cfg[o:])
		}
		return
	}
	if len(data) != 4 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var v uint32
	switch off {
	case mmioMagicValue:
		v = mmioMagic
	case mmioVersion:
		v = mmioVersion2
	case mmioDeviceID:
		v = t.dev.deviceID()
	case mmioVendorID:
		v = mmioVendor
	case mmioDeviceFeatures:
		f := t.offered()
		if t.devFeatSel < 2 {
			v = uint32(f >> (32 * t.devFeatSel))
		}
	case mmioQueueNumMax:
		if int(t.queueSel) < len(t.queues) {
			v = maxQueueSize
		}
	case mmioQueueReady:
		if q := t.selected(); q != nil && q.ready {
			v = 1
		}
	case mmioInterruptStatus:
		v = t.intStatus.Load()
	case mmioStatus:
		v = t.status
	case mmioConfigGeneration:
		v = 0 // the configuration never changes under the driver
	}
	binary.LittleEndian.PutUint32(data, v)
}

// offered is every feature bit the device offers.
func (t *transport) offered() uint64 { return t.dev.features() | featureVersion1 }

// selected is the queue QueueSel names, or nil when it names none.
func (t *transport) selected() *virtqueue {
	if int(t.queueSel) >= len(t.queues) {
		return nil
	}
	return &t.queues[t.queueSel]
}

// write handles a guest write at offset off. Writes the guest may not make
// (to a read-only register, to a queue that does not exist, to a live
// queue's geometry) are ignored: a register file does not crash.
func (t *transport) write(off uint64, data []byte) {
	t.stats.mmioExits.Add(1)
	if off >= mmioConfig || len(data) != 4 {
		return // the configuration spaces here are read-only
	}
	v := binary.LittleEndian.Uint32(data)
	if off == mmioQueueNotify {
		t.stats.notifyExits.Add(1)
		t.kick(int(v))
		return
	}
	if off == mmioInterruptACK {
		t.intStatus.And(^v)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch off {
	case mmioDeviceFeaturesSel:
		t.devFeatSel = v
	case mmioDriverFeaturesSel:
		t.drvFeatSel = v
	case mmioDriverFeatures:
		if t.drvFeatSel < 2 && t.status&statusFeaturesOK == 0 {
			shift := 32 * t.drvFeatSel
			t.drvFeatures = t.drvFeatures&^(uint64(0xffffffff)<<shift) | uint64(v)<<shift
		}
	case mmioQueueSel:
		t.queueSel = v
	case mmioStatus:
		t.setStatus(v)
	case mmioQueueNum, mmioQueueReady, mmioQueueDescLow, mmioQueueDescHigh,
		mmioQueueDriverLow, mmioQueueDriverHigh, mmioQueueDeviceLow, mmioQueueDeviceHigh:
		t.writeQueue(off, v)
	}
}

// writeQueue sets up the selected queue. Its geometry may only change
// while it is not ready; QueueReady checks the geometry against guest RAM.
func (t *transport) writeQueue(off uint64, v uint32) {
	if int(t.queueSel) >= len(t.queues) {
		return
	}
	i := int(t.queueSel)
	t.qmu[i].Lock()
	defer t.qmu[i].Unlock()
	q := &t.queues[i]
	if off == mmioQueueReady {
		if v == 0 {
			q.ready = false
			return
		}
		if err := q.check(t.mem); err != nil {
			t.failLocked(fmt.Errorf("queue %d: %w", i, err))
			return
		}
		q.ready = true
		return
	}
	if q.ready {
		return
	}
	lo := func(a *uint64) { *a = *a&^0xffffffff | uint64(v) }
	hi := func(a *uint64) { *a = *a&0xffffffff | uint64(v)<<32 }
	switch off {
	case mmioQueueNum:
		q.size = uint16(min(v, 0xffff))
		if v > maxQueueSize {
			q.size = 0 // check refuses it when the queue goes ready
		}
	case mmioQueueDescLow:
		lo(&q.desc)
	case mmioQueueDescHigh:
		hi(&q.desc)
	case mmioQueueDriverLow:
		lo(&q.avail)
	case mmioQueueDriverHigh:
		hi(&q.avail)
	case mmioQueueDeviceLow:
		lo(&q.used)
	case mmioQueueDeviceHigh:
		hi(&q.used)
	}
}

// setStatus follows the driver through initialisation (section 3.1):
// ACKNOWLEDGE, DRIVER, FEATURES_OK (which we refuse unless the features
// it chose are ones we offered, VERSION_1 among them), DRIVER_OK. Writing
// 0 resets the device.
func (t *transport) setStatus(v uint32) {
	if v == 0 {
		t.resetLocked()
		return
	}
	if v&statusFeaturesOK != 0 && t.status&statusFeaturesOK == 0 {
		if t.drvFeatures&^t.offered() != 0 || t.drvFeatures&featureVersion1 == 0 {
			v &^= statusFeaturesOK // the driver reads it back and gives up
		}
	}
	// Only the driver's bits are the driver's to set; NEEDS_RESET is ours.
	old := t.status
	t.status = v&^statusNeedsReset | old&statusNeedsReset
	if v&statusDriverOK != 0 && old&statusDriverOK == 0 && t.status&statusFeaturesOK != 0 && t.broken == "" {
		t.dev.activate(t)
	}
}

// resetLocked returns the device to its state at power-on. t.mu is held.
func (t *transport) resetLocked() {
	t.dev.reset()
	for i := range t.queues {
		t.qmu[i].Lock()
		t.queues[i] = virtqueue{}
		t.qmu[i].Unlock()
	}
	t.status, t.drvFeatures, t.devFeatSel, t.drvFeatSel, t.queueSel, t.broken = 0, 0, 0, 0, 0, ""
	t.intStatus.Store(0)
}

// kick is a queue notification, however it arrived. An index naming no
// queue is ignored.
func (t *transport) kick(q int) {
	if q < 0 || q >= len(t.queues) {
		return
	}
	if t.live() {
		t.dev.notify(t, q)
	}
}

// drain takes every chain the driver posted on queue qi, hands each to
// handle and returns it with the byte count handle reports, then
// interrupts the guest once if it wants. handle returns an error only when
// the request cannot even be answered (no room for a status); a malformed
// queue or such a request breaks the device.
func (t *transport) drain(qi int, handle func(c *chain) (written uint32, err error)) {
	if !t.live() {
		return
	}
	t.qmu[qi].Lock()
	q := &t.queues[qi]
	returned := false
	var failure error
	for {
		c, ok, err := q.pop(t.mem)
		if err != nil {
			failure = fmt.Errorf("queue %d: %w", qi, err)
			break
		}
		if !ok {
			break
		}
		n, err := handle(&c)
		if err != nil {
			failure = fmt.Errorf("queue %d, chain %d: %w", qi, c.head, err)
			break
		}
		if err := q.push(t.mem, c.head, n); err != nil {
			failure = fmt.Errorf("queue %d: %w", qi, err)
			break
		}
		t.stats.requests.Add(1)
		returned = true
	}
	wanted := returned && q.interruptWanted(t.mem)
	t.qmu[qi].Unlock()
	if failure != nil {
		t.fail(failure)
	}
	if wanted {
		t.interrupt(intUsedBuffer)
	}
}

// serveOne hands the next chain of queue qi to handle, returns it and
// interrupts the guest. served is false when the driver has posted none;
// live is false when the device is not running (not yet DRIVER_OK, or
// broken), so nobody will post any.
func (t *transport) serveOne(qi int, handle func(c *chain) (uint32, error)) (served, live bool) {
	if !t.live() {
		return false, false
	}
	t.qmu[qi].Lock()
	q := &t.queues[qi]
	var failure error
	c, ok, err := q.pop(t.mem)
	switch {
	case err != nil:
		failure = fmt.Errorf("queue %d: %w", qi, err)
	case ok:
		var n uint32
		if n, err = handle(&c); err == nil {
			err = q.push(t.mem, c.head, n)
		}
		if err != nil {
			failure = fmt.Errorf("queue %d, chain %d: %w", qi, c.head, err)
		} else {
			t.stats.requests.Add(1)
		}
	}
	wanted := ok && failure == nil && q.interruptWanted(t.mem)
	t.qmu[qi].Unlock()
	if failure != nil {
		t.fail(failure)
		return false, false
	}
	if wanted {
		t.interrupt(intUsedBuffer)
	}
	return ok, true
}

// live says whether the driver has the device running.
func (t *transport) live() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.status&statusDriverOK != 0 && t.broken == ""
}

// interrupt sets a bit of InterruptStatus and raises the line.
func (t *transport) interrupt(bit uint32) {
	t.intStatus.Or(bit)
	t.stats.interrupts.Add(1)
	if err := t.signal(); err != nil {
		t.fail(fmt.Errorf("raise IRQ %d: %w", t.irq, err))
	}
}

// fail marks the device as needing a reset: it stops taking requests
// until the driver resets it, and tells the driver so with a configuration
// interrupt. The VM goes on; only this device stopped.
func (t *transport) fail(err error) {
	t.mu.Lock()
	first := t.failLocked(err)
	t.mu.Unlock()
	if first {
		t.intStatus.Or(intConfigChange)
		t.stats.interrupts.Add(1)
		t.signal() // an error here has nowhere left to go
	}
}

func (t *transport) failLocked(err error) bool {
	if t.broken != "" {
		return false
	}
	t.broken = err.Error()
	t.status |= statusNeedsReset
	return true
}

// brokenReason is why the device stopped, or "".
func (t *transport) brokenReason() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.broken
}

func (t *transport) snapshot() DeviceStats {
	s := &t.stats
	return DeviceStats{
		Name: t.name, Kind: t.dev.kind(), Addr: t.base, IRQ: t.irq,
		MMIOExits: s.mmioExits.Load(), NotifyExits: s.notifyExits.Load(), Notifies: s.notifies.Load(),
		Interrupts: s.interrupts.Load(), Requests: s.requests.Load(), Failed: s.failed.Load(),
		Dropped: s.dropped.Load(), Flushes: s.flushes.Load(),
		BytesRead: s.bytesRead.Load(), BytesWrite: s.bytesWrite.Load(),
		Broken: t.brokenReason(),
	}
}

//go:build linux

package hypervisor

import (
	"encoding/binary"
	"fmt"
)

// A split virtqueue (virtio 1.x, section 2.7) is how a virtio driver and
// device pass buffers: three arrays in guest RAM, all written by the guest
// except the last.
//
//	descriptor table  size x 16 bytes: addr u64, len u32, flags u16, next u16
//	avail ring        flags u16, idx u16, ring[size] u16    (driver -> device)
//	used ring         flags u16, idx u16, ring[size] {id u32, len u32}
//	                                                          (device -> driver)
//
// A request is a chain of descriptors linked by next: first the buffers the
// device reads (a virtio-blk header, a packet to send), then the buffers it
// writes (data read from disk, a status byte). The driver puts the chain's
// head index in the avail ring and bumps avail idx; the device takes it,
// does the work and puts the head back in the used ring with the number of
// bytes it wrote.
//
// Every number here was written by the guest, so every one is checked
// before it is used: addresses and lengths against guest RAM (an overflow
// of addr+len is out of RAM too), descriptor indices against the queue
// size, chain length against the queue size (which is also how a loop is
// caught: a chain cannot have more distinct descriptors than the table),
// and the avail index against how far it can legally run ahead. A queue
// that breaks a rule is not repaired: the device stops and asks for a reset.
const (
	virtqDescSize = 16

	virtqDescFNext     = 1 // the chain continues at next
	virtqDescFWrite    = 2 // the device writes this buffer (else reads it)
	virtqDescFIndirect = 4 // buffer holds a table of descriptors: not offered

	virtqAvailFNoInterrupt = 1 // the driver does not want an interrupt now

	// maxQueueSize is QueueNumMax: the most descriptors a queue may have.
	maxQueueSize = 256
)

// virtqueue is the device's view of one queue: where the driver put its
// three parts, and how far the device has got.
type virtqueue struct {
	size  uint16 // QueueNum: a power of 2, 1..maxQueueSize
	ready bool   // QueueReady: the driver set it up and it may be used
	desc  uint64 // guest-physical addresses of the three parts
	avail uint64
	used  uint64

	lastAvail uint16 // the next avail ring entry to take
	usedIdx   uint16 // our used idx (the guest may read, never write, it)
}

// chain is one request: its buffers resolved to guest RAM, readable ones
// first. The slices alias guest memory: the device reads and writes the
// guest's buffers directly, with no copy of ours in between.
type chain struct {
	head     uint16
	readable [][]byte
	writable [][]byte
	nRead    uint64 // total bytes in readable
	nWrite   uint64 // total bytes in writable
}

// check validates what the driver configured, when it sets QueueReady.
func (q *virtqueue) check(m *guestMemory) error {
	n := uint64(q.size)
	switch {
	case q.size == 0 || q.size > maxQueueSize || q.size&(q.size-1) != 0:
		return fmt.Errorf("%w: queue size %d (want a power of 2 up to %d)", ErrVirtqueue, q.size, maxQueueSize)
	case q.desc%16 != 0 || q.avail%2 != 0 || q.used%4 != 0:
		return fmt.Errorf("%w: misaligned queue (desc %#x, avail %#x, used %#x)", ErrVirtqueue, q.desc, q.avail, q.used)
	}
	for _, r := range []struct {
		what       string
		addr, size uint64
	}{{"descriptor table", q.desc, virtqDescSize * n}, {"avail ring", q.avail, 4 + 2*n}, {"used ring", q.used, 4 + 8*n}} {
		if !m.contains(r.addr, r.size) {
			return fmt.Errorf("%w: %s at %#x+%#x", ErrGuestAddress, r.what, r.addr, r.size)
		}
	}
	return nil
}

// availIdx reads the driver's avail idx: how many chains it has ever posted.
func (q *virtqueue) availIdx(m *guestMemory) (uint16, error) {
	// avail is 2-aligned, so avail+2 sits in the 4-aligned word at
	// (avail+2)&^3, either in its low or its high half.
	a := q.avail + 2
	w, err := m.loadUint32(a &^ 3)
	if err != nil {
		return 0, err
	}
	return uint16(w >> (8 * (a & 3))), nil
}

// pending says whether the driver has posted chains the device has not taken.
func (q *virtqueue) pending(m *guestMemory) (bool, error) {
	idx, err := q.availIdx(m)
	return err == nil && idx != q.lastAvail, err
}

// pop takes the next chain the driver posted; ok is false when there is
// none. An error means the queue is broken.
func (q *virtqueue) pop(m *guestMemory) (c chain, ok bool, err error) {
	if !q.ready {
		return chain{}, false, nil
	}
	idx, err := q.availIdx(m)
	if err != nil {
		return chain{}, false, err
	}
	if idx == q.lastAvail {
		return chain{}, false, nil
	}
	// The driver can only have posted as many chains as it has
	// descriptors; an index further ahead than that is a lie.
	if ahead := idx - q.lastAvail; ahead > q.size {
		return chain{}, false, fmt.Errorf("%w: avail idx %d is %d ahead of %d, more than the %d descriptors", ErrVirtqueue, idx, ahead, q.lastAvail, q.size)
	}
	slot := q.avail + 4 + 2*uint64(q.lastAvail%q.size)
	b, err := m.slice(slot, 2)
	if err != nil {
		return chain{}, false, err
	}
	head := binary.LittleEndian.Uint16(b)
	c, err = q.walk(m, head)
	if err != nil {
		return chain{}, false, err
	}
	q.lastAvail++
	return c, true, nil
}

// walk follows a chain from head, checking each descriptor.
func (q *virtqueue) walk(m *guestMemory, head uint16) (chain, error) {
	c := chain{head: head}
	i := head
	for n := 0; ; n++ {
		if i >= q.size {
			return chain{}, fmt.Errorf("%w: descriptor index %d, the queue has %d", ErrVirtqueue, i, q.size)
		}
		if n >= int(q.size) {
			return chain{}, fmt.Errorf("%w: chain from %d is longer than the queue's %d descriptors (a loop?)", ErrVirtqueue, head, q.size)
		}
		d, err := m.slice(q.desc+virtqDescSize*uint64(i), virtqDescSize)
		if err != nil {
			return chain{}, err
		}
		addr := binary.LittleEndian.Uint64(d[0:])
		size := binary.LittleEndian.Uint32(d[8:])
		flags := binary.LittleEndian.Uint16(d[12:])
		next := binary.LittleEndian.Uint16(d[14:])
		if flags&virtqDescFIndirect != 0 {
			return chain{}, fmt.Errorf("%w: indirect descriptor %d (VIRTIO_RING_F_INDIRECT_DESC was not offered)", ErrVirtqueue, i)
		}
		buf, err := m.slice(addr, uint64(size))
		if err != nil {
			return chain{}, fmt.Errorf("descriptor %d: %w", i, err)
		}
		if flags&virtqDescFWrite != 0 {
			c.writable = append(c.writable, buf)
			c.nWrite += uint64(size)
		} else {
			if len(c.writable) > 0 {
				return chain{}, fmt.Errorf("%w: descriptor %d is device-readable after a device-writable one", ErrVirtqueue, i)
			}
			c.readable = append(c.readable, buf)
			c.nRead += uint64(size)
		}
		if flags&virtqDescFNext == 0 {
			return c, nil
		}
		i = next
	}
}

// push returns a chain to the driver with the number of bytes the device
// wrote into it. The entry is written first and the index published after
// it, atomically, so that the driver never sees an index ahead of its entry.
func (q *virtqueue) push(m *guestMemory, head uint16, written uint32) error {
	e, err := m.slice(q.used+4+8*uint64(q.usedIdx%q.size), 8)
	if err != nil {
		return err
	}
	binary.LittleEndian.PutUint32(e[0:], uint32(head))
	binary.LittleEndian.PutUint32(e[4:], written)
	q.usedIdx++
	// flags (0: we never ask the driver not to notify us) and idx together.
	return m.storeUint32(q.used, uint32(q.usedIdx)<<16)
}

// interruptWanted says whether the driver asked to be interrupted when
// chains come back (it sets VIRTQ_AVAIL_F_NO_INTERRUPT while it polls).
func (q *virtqueue) interruptWanted(m *guestMemory) bool {
	b, err := m.slice(q.avail, 2)
	return err != nil || binary.LittleEndian.Uint16(b)&virtqAvailFNoInterrupt == 0
}

// gather copies the chain's readable bytes from off on into dst and
// returns how many it copied.
func (c *chain) gather(dst []byte, off uint64) int {
	n := 0
	for _, b := range c.readable {
		if off >= uint64(len(b)) {
			off -= uint64(len(b))
			continue
		}
		n += copy(dst[n:], b[off:])
		off = 0
		if n == len(dst) {
			break
		}
	}
	return n
}

// scatter copies src into the chain's writable buffers from off on and
// returns how many bytes it copied.
func (c *chain) scatter(src []byte, off uint64) int {
	n := 0
	for _, b := range c.writable {
		if off >= uint64(len(b)) {
			off -= uint64(len(b))
			continue
		}
		n += copy(b[off:], src[n:])
		off = 0
		if n == len(src) {
			break
		}
	}
	return n
}

// span returns the buffers covering bytes [off, off+n) of bufs, cut to fit:
// the part of a request that is data, as slices of guest memory.
func span(bufs [][]byte, off, n uint64) [][]byte {
	var out [][]byte
	for _, b := range bufs {
		if n == 0 {
			break
		}
		if off >= uint64(len(b)) {
			off -= uint64(len(b))
			continue
		}
		b = b[off:]
		off = 0
		if uint64(len(b)) > n {
			b = b[:n]
		}
		out = append(out, b)
		n -= uint64(len(b))
	}
	return out
}

//go:build linux

package hypervisor

import (
	"encoding/binary"
	"errors"
	"testing"
)

// A test-side virtio driver: it lays a queue out in guest memory the way
// Linux does and posts chains, or writes whatever a hostile guest would.
const (
	tqDesc  = 0x1000
	tqAvail = 0x2000
	tqUsed  = 0x3000
	tqBufs  = 0x10000
	tqMem   = 1 << 20
)

type testDriver struct {
	t     testing.TB
	m     *guestMemory
	q     *virtqueue
	avail uint16
	ring  uint64 // added to tqDesc, tqAvail and tqUsed: queue n's rings sit n*0x4000 higher
}

func newTestMemory(t testing.TB, size uint64) *guestMemory {
	t.Helper()
	m, err := newGuestMemory(size, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.unmap() })
	return m
}

func newTestDriver(t testing.TB, size uint16) *testDriver {
	m := newTestMemory(t, tqMem)
	q := &virtqueue{size: size, desc: tqDesc, avail: tqAvail, used: tqUsed}
	if err := q.check(m); err != nil {
		t.Fatal(err)
	}
	q.ready = true
	return &testDriver{t: t, m: m, q: q}
}

// desc writes descriptor i.
func (d *testDriver) desc(i uint16, addr uint64, n uint32, flags, next uint16) {
	b := d.m.mem[d.ring+tqDesc+16*uint64(i):]
	binary.LittleEndian.PutUint64(b[0:], addr)
	binary.LittleEndian.PutUint32(b[8:], n)
	binary.LittleEndian.PutUint16(b[12:], flags)
	binary.LittleEndian.PutUint16(b[14:], next)
}

// publish puts head in the avail ring and bumps avail idx.
func (d *testDriver) publish(head uint16) {
	binary.LittleEndian.PutUint16(d.m.mem[d.ring+tqAvail+4+2*uint64(d.avail%d.q.size):], head)
	d.avail++
	binary.LittleEndian.PutUint16(d.m.mem[d.ring+tqAvail+2:], d.avail)
}

// buf is one buffer of a chain to post: its length, whether the device
// writes it, and what the driver puts in it.
type buf struct {
	n     uint32
	write bool
	data  []byte
}

// post lays out bufs as a chain from descriptor first on, with buffers at
// addr on, and publishes it. It returns each buffer's address.
func (d *testDriver) post(first uint16, addr uint64, bufs ...buf) []uint64 {
	var addrs []uint64
	for i, b := range bufs {
		var flags uint16
		if b.write {
			flags |= virtqDescFWrite
		}
		if i < len(bufs)-1 {
			flags |= virtqDescFNext
		}
		copy(d.m.mem[addr:], b.data)
		d.desc(first+uint16(i), addr, b.n, flags, first+uint16(i)+1)
		addrs = append(addrs, addr)
		addr += uint64(b.n+15) &^ 15
	}
	d.publish(first)
	return addrs
}

func (d *testDriver) usedIdx() uint16 { return binary.LittleEndian.Uint16(d.m.mem[d.ring+tqUsed+2:]) }

func (d *testDriver) usedElem(i uint16) (id, n uint32) {
	e := d.m.mem[d.ring+tqUsed+4+8*uint64(i%d.q.size):]
	return binary.LittleEndian.Uint32(e), binary.LittleEndian.Uint32(e[4:])
}

func TestVirtqueueChain(t *testing.T) {
	d := newTestDriver(t, 8)
	if _, ok, err := d.q.pop(d.m); ok || err != nil {
		t.Fatalf("empty queue: ok %v err %v", ok, err)
	}
	d.post(2, tqBufs, buf{n: 16, data: []byte("header-16-bytes!")}, buf{n: 512, write: true}, buf{n: 1, write: true})
	c, ok, err := d.q.pop(d.m)
	if err != nil || !ok {
		t.Fatalf("pop: ok %v err %v", ok, err)
	}
	if c.head != 2 || len(c.readable) != 1 || len(c.writable) != 2 || c.nRead != 16 || c.nWrite != 513 {
		t.Fatalf("chain %+v", c)
	}
	if string(c.readable[0]) != "header-16-bytes!" {
		t.Errorf("readable %q", c.readable[0])
	}
	var hdr [6]byte
	if n := c.gather(hdr[:], 7); n != 6 || string(hdr[:]) != "16-byt" {
		t.Errorf("gather from 7: %d %q", n, hdr[:n])
	}
	if n := c.scatter([]byte("xyz"), 511); n != 2 || c.writable[0][511] != 'x' || c.writable[1][0] != 'y' {
		t.Errorf("scatter across buffers: %d", n)
	}
	if err := d.q.push(d.m, c.head, 513); err != nil {
		t.Fatal(err)
	}
	if id, n := d.usedElem(0); d.usedIdx() != 1 || id != 2 || n != 513 {
		t.Errorf("used idx %d elem (%d, %d), want 1 (2, 513)", d.usedIdx(), id, n)
	}
	if _, ok, _ := d.q.pop(d.m); ok {
		t.Errorf("a chain popped twice")
	}
}

// TestVirtqueueHostile: every lie a guest can tell in a queue is refused
// with an error, never a panic or an access outside guest RAM.
func TestVirtqueueHostile(t *testing.T) {
	const size = 4
	for _, tc := range []struct {
		name  string
		setup func(d *testDriver)
		want  error
	}{
		{"descriptor loop", func(d *testDriver) {
			d.desc(0, tqBufs, 16, virtqDescFNext, 1)
			d.desc(1, tqBufs, 16, virtqDescFNext, 0)
			d.publish(0)
		}, ErrVirtqueue},
		{"descriptor pointing at itself", func(d *testDriver) {
			d.desc(3, tqBufs, 16, virtqDescFNext, 3)
			d.publish(3)
		}, ErrVirtqueue},
		{"chain longer than the queue", func(d *testDriver) {
			for i := uint16(0); i < size; i++ {
				d.desc(i, tqBufs, 16, virtqDescFNext, (i+1)%size)
			}
			d.publish(0)
		}, ErrVirtqueue},
		{"address outside RAM", func(d *testDriver) {
			d.desc(0, tqMem, 16, 0, 0)
			d.publish(0)
		}, ErrGuestAddress},
		{"length running past RAM", func(d *testDriver) {
			d.desc(0, tqMem-8, 16, 0, 0)
			d.publish(0)
		}, ErrGuestAddress},
		{"address plus length overflowing", func(d *testDriver) {
			d.desc(0, ^uint64(0)-4, 0xffffffff, 0, 0)
			d.publish(0)
		}, ErrGuestAddress},
		{"next index out of range", func(d *testDriver) {
			d.desc(0, tqBufs, 16, virtqDescFNext, size)
			d.publish(0)
		}, ErrVirtqueue},
		{"head index out of range", func(d *testDriver) {
			d.publish(0xffff)
		}, ErrVirtqueue},
		{"indirect descriptor", func(d *testDriver) {
			d.desc(0, tqBufs, 16, virtqDescFIndirect, 0)
			d.publish(0)
		}, ErrVirtqueue},
		{"readable after writable", func(d *testDriver) {
			d.desc(0, tqBufs, 16, virtqDescFWrite|virtqDescFNext, 1)
			d.desc(1, tqBufs, 16, 0, 0)
			d.publish(0)
		}, ErrVirtqueue},
		{"avail idx running ahead", func(d *testDriver) {
			d.desc(0, tqBufs, 16, 0, 0)
			binary.LittleEndian.PutUint16(d.m.mem[tqAvail+2:], size+1)
		}, ErrVirtqueue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDriver(t, size)
			tc.setup(d)
			_, ok, err := d.q.pop(d.m)
			if ok || !errors.Is(err, tc.want) {
				t.Errorf("pop: ok %v err %v, want %v", ok, err, tc.want)
			}
		})
	}
}

// check refuses a queue geometry that does not fit in RAM or breaks the
// spec's rules, before the queue is used.
func TestVirtqueueCheck(t *testing.T) {
	m := newTestMemory(t, tqMem)
	for _, tc := range []struct {
		name string
		q    virtqueue
		want error
	}{
		{"size 0", virtqueue{size: 0, desc: tqDesc, avail: tqAvail, used: tqUsed}, ErrVirtqueue},
		{"size not a power of 2", virtqueue{size: 3, desc: tqDesc, avail: tqAvail, used: tqUsed}, ErrVirtqueue},
		{"size above the maximum", virtqueue{size: 512, desc: tqDesc, avail: tqAvail, used: tqUsed}, ErrVirtqueue},
		{"misaligned used ring", virtqueue{size: 8, desc: tqDesc, avail: tqAvail, used: tqUsed + 2}, ErrVirtqueue},
		{"descriptor table beyond RAM", virtqueue{size: 256, desc: tqMem - 16, avail: tqAvail, used: tqUsed}, ErrGuestAddress},
		{"used ring at the top of the address space", virtqueue{size: 8, desc: tqDesc, avail: tqAvail, used: ^uint64(0) &^ 3}, ErrGuestAddress},
	} {
		if err := tc.q.check(m); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestSpan(t *testing.T) {
	bufs := [][]byte{make([]byte, 4), make([]byte, 0), make([]byte, 8)}
	got := span(bufs, 2, 6)
	if len(got) != 2 || len(got[0]) != 2 || len(got[1]) != 4 {
		t.Errorf("span(2, 6) = %d buffers %v", len(got), got)
	}
	if got := span(bufs, 12, 1); len(got) != 0 {
		t.Errorf("span past the end = %v", got)
	}
}

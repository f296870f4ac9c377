//go:build linux

package hypervisor

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The transport and the two devices, driven through their registers the
// way Linux's virtio_mmio driver drives them, on guest memory without a VM.

func reg32(t *transport, off uint64) uint32 {
	var b [4]byte
	t.read(off, b[:])
	return binary.LittleEndian.Uint32(b[:])
}

func set32(t *transport, off uint64, v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	t.write(off, b[:])
}

// testTransport is a device on its transport, with a driver for its queues
// (all laid out at the same addresses: tests use one queue at a time) and
// a count of the interrupts it raised.
type testTransport struct {
	*transport
	d    *testDriver   // the driver of the queue under test: drivers[0] at first
	dq   []*testDriver // one per queue
	irqs atomic.Int32
}

func newTestTransport(t *testing.T, dev virtioDevice) *testTransport {
	d := newTestDriver(t, 8)
	tt := &testTransport{transport: newTransport("dev0", virtioMMIOBase, 5, d.m, dev), d: d}
	tt.signal = func() error { tt.irqs.Add(1); return nil }
	return tt
}

// initialise is the driver's side of section 3.1: reset, acknowledge,
// negotiate features, set the queues up, DRIVER_OK.
func (tt *testTransport) initialise(t *testing.T, features uint64) {
	t.Helper()
	set32(tt.transport, mmioStatus, 0)
	set32(tt.transport, mmioStatus, statusAcknowledge|statusDriver)
	for sel := uint32(0); sel < 2; sel++ {
		set32(tt.transport, mmioDriverFeaturesSel, sel)
		set32(tt.transport, mmioDriverFeatures, uint32(features>>(32*sel)))
	}
	set32(tt.transport, mmioStatus, statusAcknowledge|statusDriver|statusFeaturesOK)
	if reg32(tt.transport, mmioStatus)&statusFeaturesOK == 0 {
		t.Fatalf("device refused features %#x", features)
	}
	for q := 0; q < len(tt.queues); q++ {
		set32(tt.transport, mmioQueueSel, uint32(q))
		ring := uint64(q) * 0x4000
		set32(tt.transport, mmioQueueNum, 8)
		set32(tt.transport, mmioQueueDescLow, uint32(tqDesc+ring))
		set32(tt.transport, mmioQueueDriverLow, uint32(tqAvail+ring))
		set32(tt.transport, mmioQueueDeviceLow, uint32(tqUsed+ring))
		set32(tt.transport, mmioQueueReady, 1)
		tt.dq = append(tt.dq, &testDriver{t: t, m: tt.d.m, q: &tt.queues[q], ring: ring})
	}
	set32(tt.transport, mmioStatus, statusAcknowledge|statusDriver|statusFeaturesOK|statusDriverOK)
	tt.d = tt.dq[0]
}

func TestTransportRegisters(t *testing.T) {
	img := writeFile(t, "disk.img", make([]byte, 4096))
	b, err := openBlk(Disk{Path: img, ReadOnly: true}, "serial")
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	tt := newTestTransport(t, b)
	tr := tt.transport
	for _, r := range []struct {
		name string
		off  uint64
		want uint32
	}{
		{"magic", mmioMagicValue, mmioMagic},
		{"version", mmioVersion, 2},
		{"device ID", mmioDeviceID, virtioIDBlock},
		{"features 0-31", mmioDeviceFeatures, uint32(blkFSegMax | blkFRO | blkFBlkSize | blkFFlush)},
		{"queue size max", mmioQueueNumMax, maxQueueSize},
	} {
		if got := reg32(tr, r.off); got != r.want {
			t.Errorf("%s = %#x, want %#x", r.name, got, r.want)
		}
	}
	set32(tr, mmioDeviceFeaturesSel, 1)
	if got := reg32(tr, mmioDeviceFeatures); got != 1 {
		t.Errorf("features 32-63 = %#x, want VERSION_1", got)
	}
	// Config space: capacity in sectors, byte by byte as the guest may read it.
	var c [1]byte
	tr.read(mmioConfig, c[:])
	if c[0] != 8 {
		t.Errorf("capacity byte 0 = %d, want 8 sectors", c[0])
	}
	tr.read(mmioConfig+4000, c[:]) // beyond the config space: zeros, no panic
	// A queue that does not exist: no size, and writes change nothing.
	set32(tr, mmioQueueSel, 7)
	if got := reg32(tr, mmioQueueNumMax); got != 0 {
		t.Errorf("QueueNumMax of queue 7 = %d, want 0", got)
	}
	set32(tr, mmioQueueReady, 1)
	set32(tr, mmioQueueNotify, 7)
	set32(tr, mmioQueueNotify, 0xffffffff)
	// A register read of the wrong width reads zero.
	var w [2]byte
	tr.read(mmioMagicValue, w[:])
	if w != [2]byte{} {
		t.Errorf("16-bit read of a register = %v, want zeros", w)
	}

	// A legacy driver (no VERSION_1) or one that asks for features we do
	// not offer is refused at FEATURES_OK.
	for _, f := range []uint64{blkFRO, featureVersion1 | 1<<28} {
		set32(tr, mmioStatus, 0)
		set32(tr, mmioDriverFeaturesSel, 0)
		set32(tr, mmioDriverFeatures, uint32(f))
		set32(tr, mmioDriverFeaturesSel, 1)
		set32(tr, mmioDriverFeatures, uint32(f>>32))
		set32(tr, mmioStatus, statusAcknowledge|statusDriver|statusFeaturesOK)
		if reg32(tr, mmioStatus)&statusFeaturesOK != 0 {
			t.Errorf("features %#x accepted", f)
		}
	}

	// A queue whose rings are outside RAM breaks the device when it goes
	// ready; a reset mends it.
	set32(tr, mmioStatus, 0)
	set32(tr, mmioQueueSel, 0)
	set32(tr, mmioQueueNum, 8)
	set32(tr, mmioQueueDescLow, 0)
	set32(tr, mmioQueueDescHigh, 0x10)
	set32(tr, mmioQueueReady, 1)
	if reg32(tr, mmioStatus)&statusNeedsReset == 0 || reg32(tr, mmioQueueReady) != 0 {
		t.Errorf("queue outside RAM: status %#x ready %d, want NEEDS_RESET and not ready", reg32(tr, mmioStatus), reg32(tr, mmioQueueReady))
	}
	if !strings.Contains(tr.brokenReason(), "outside RAM") {
		t.Errorf("broken reason %q", tr.brokenReason())
	}
	set32(tr, mmioStatus, 0)
	if reg32(tr, mmioStatus) != 0 || tr.brokenReason() != "" {
		t.Errorf("after reset: status %#x, broken %q", reg32(tr, mmioStatus), tr.brokenReason())
	}
	tt.initialise(t, featureVersion1|blkFRO)
	if got := reg32(tr, mmioStatus); got != statusAcknowledge|statusDriver|statusFeaturesOK|statusDriverOK {
		t.Errorf("status after initialisation %#x", got)
	}
}

// blkRequestChain posts a virtio-blk request: header, data, status.
func (tt *testTransport) blkRequest(typ uint32, sector uint64, data []byte, n uint32, write bool) (dataAddr, statusAddr uint64) {
	hdr := make([]byte, 16)
	binary.LittleEndian.PutUint32(hdr, typ)
	binary.LittleEndian.PutUint64(hdr[8:], sector)
	bufs := []buf{{n: 16, data: hdr}}
	if n > 0 {
		bufs = append(bufs, buf{n: n, write: write, data: data})
	}
	bufs = append(bufs, buf{n: 1, write: true, data: []byte{0xee}})
	a := tt.d.post(0, tqBufs, bufs...)
	return a[1], a[len(a)-1]
}

func newTestDisk(t *testing.T, ro bool) (*testTransport, string, []byte) {
	t.Helper()
	content := bytes.Repeat([]byte("0123456789abcdef"), 4096/16*4) // 16 KiB, 32 sectors
	img := writeFile(t, "disk.img", content)
	b, err := openBlk(Disk{Path: img, ReadOnly: ro}, "twinboot-vda")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.close() })
	tt := newTestTransport(t, b)
	tt.initialise(t, b.features()|featureVersion1)
	return tt, img, content
}

func TestBlkReadWriteFlush(t *testing.T) {
	tt, img, content := newTestDisk(t, false)
	// Read sectors 2..3.
	data, status := tt.blkRequest(blkTIn, 2, nil, 1024, true)
	tt.kick(0)
	if st := tt.d.m.mem[status]; st != blkSOK {
		t.Fatalf("read status %d", st)
	}
	if !bytes.Equal(tt.d.m.mem[data:data+1024], content[1024:2048]) {
		t.Errorf("read data differs from the image")
	}
	if _, n := tt.d.usedElem(0); n != 1025 || tt.irqs.Load() != 1 {
		t.Errorf("used len %d, %d interrupts; want 1025 and 1", n, tt.irqs.Load())
	}
	// Write sector 5 and flush: the bytes are in the file.
	tt.blkRequest(blkTOut, 5, bytes.Repeat([]byte{'W'}, 512), 512, false)
	tt.kick(0)
	_, status = tt.blkRequest(blkTFlush, 0, nil, 0, false)
	tt.kick(0)
	if st := tt.d.m.mem[status]; st != blkSOK {
		t.Fatalf("flush status %d", st)
	}
	got, _ := os.ReadFile(img)
	if !bytes.Equal(got[2560:3072], bytes.Repeat([]byte{'W'}, 512)) || !bytes.Equal(got[3072:], content[3072:]) {
		t.Errorf("sector 5 not written, or more than it")
	}
	s := tt.snapshot()
	if s.Requests != 3 || s.Flushes != 1 || s.BytesRead != 1024 || s.BytesWrite != 512 || s.Failed != 0 {
		t.Errorf("stats %+v", s)
	}
	// GET_ID: the serial number.
	data, status = tt.blkRequest(blkTGetID, 0, nil, 20, true)
	tt.kick(0)
	if st := tt.d.m.mem[status]; st != blkSOK || !bytes.HasPrefix(tt.d.m.mem[data:], []byte("twinboot-vda\x00")) {
		t.Errorf("GET_ID: status %d id %q", st, tt.d.m.mem[data:data+20])
	}
}

// TestBlkReadOnly: a guest that writes to a read-only disk anyway (its
// kernel would not) gets an I/O error, and the file stays as it was.
func TestBlkReadOnly(t *testing.T) {
	tt, img, content := newTestDisk(t, true)
	_, status := tt.blkRequest(blkTOut, 0, bytes.Repeat([]byte{'X'}, 512), 512, false)
	tt.kick(0)
	if st := tt.d.m.mem[status]; st != blkSIOErr {
		t.Errorf("write to a read-only disk: status %d, want IOERR", st)
	}
	if got, _ := os.ReadFile(img); !bytes.Equal(got, content) {
		t.Errorf("the read-only image changed")
	}
	if s := tt.snapshot(); s.Failed != 1 || s.BytesWrite != 0 || s.Broken != "" {
		t.Errorf("stats %+v", s)
	}
}

// TestBlkBadRequests: requests a hostile guest can make fail with an error
// status; one with no status byte breaks the device. None touches the file
// or memory outside RAM.
func TestBlkBadRequests(t *testing.T) {
	for _, tc := range []struct {
		name   string
		typ    uint32
		sector uint64
		n      uint32
		write  bool
		want   byte
	}{
		{"read past the end", blkTIn, 31, 1024, true, blkSIOErr},
		{"read at a sector that wraps around", blkTIn, ^uint64(0) - 1, 1024, true, blkSIOErr},
		{"read at the first sector after the end", blkTIn, 32, 512, true, blkSIOErr},
		{"read of part of a sector", blkTIn, 0, 100, true, blkSIOErr},
		{"write past the end", blkTOut, 32, 512, false, blkSIOErr},
		{"unknown request type", 99, 0, 512, true, blkSUnsupp},
		{"discard (not offered)", 11, 0, 16, false, blkSUnsupp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tt, img, content := newTestDisk(t, false)
			_, status := tt.blkRequest(tc.typ, tc.sector, nil, tc.n, tc.write)
			tt.kick(0)
			if st := tt.d.m.mem[status]; st != tc.want {
				t.Errorf("status %d, want %d", st, tc.want)
			}
			if got, _ := os.ReadFile(img); !bytes.Equal(got, content) {
				t.Errorf("the image changed")
			}
			if s := tt.snapshot(); s.Broken != "" || s.Requests != 1 {
				t.Errorf("stats %+v", s)
			}
		})
	}
	t.Run("header too short", func(t *testing.T) {
		tt, _, _ := newTestDisk(t, false)
		a := tt.d.post(0, tqBufs, buf{n: 8}, buf{n: 1, write: true, data: []byte{0xee}})
		tt.kick(0)
		if st := tt.d.m.mem[a[1]]; st != blkSIOErr {
			t.Errorf("status %d, want IOERR", st)
		}
	})
	t.Run("no status byte", func(t *testing.T) {
		tt, _, _ := newTestDisk(t, false)
		tt.d.post(0, tqBufs, buf{n: 16})
		tt.kick(0)
		if reg32(tt.transport, mmioStatus)&statusNeedsReset == 0 || tt.d.usedIdx() != 0 {
			t.Errorf("status %#x used %d: want NEEDS_RESET and nothing returned", reg32(tt.transport, mmioStatus), tt.d.usedIdx())
		}
		if reg32(tt.transport, mmioInterruptStatus)&intConfigChange == 0 {
			t.Errorf("no configuration interrupt for the broken device")
		}
		// Broken stays broken: further requests are not served.
		tt.d.post(1, tqBufs+0x1000, buf{n: 16}, buf{n: 1, write: true})
		tt.kick(0)
		if tt.d.usedIdx() != 0 {
			t.Errorf("a broken device served a request")
		}
	})
	t.Run("descriptor loop", func(t *testing.T) {
		tt, _, _ := newTestDisk(t, false)
		tt.d.desc(0, tqBufs, 16, virtqDescFNext|virtqDescFWrite, 1)
		tt.d.desc(1, tqBufs, 1, virtqDescFNext|virtqDescFWrite, 0)
		tt.d.publish(0)
		tt.kick(0)
		if b := tt.brokenReason(); !strings.Contains(b, "longer than the queue") {
			t.Errorf("broken %q", b)
		}
	})
}

func TestOpenBlkErrors(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	os.WriteFile(small, []byte("tiny"), 0o644)
	for _, p := range []string{filepath.Join(dir, "missing"), dir, small} {
		if b, err := openBlk(Disk{Path: p}, ""); err == nil {
			b.close()
			t.Errorf("%s opened", p)
		} else if !strings.Contains(err.Error(), ErrNoDisk.Error()) {
			t.Errorf("%s: %v, want ErrNoDisk", p, err)
		}
	}
}

// socketPair is a frame backend for tests: the other end plays the TAP's
// host side.
func socketPair(t *testing.T) (*os.File, *os.File) {
	// Non-blocking, as the TAP is, so that Go's poller serves them and
	// Close wakes a blocked Read.
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	return os.NewFile(uintptr(fds[0]), "vmm"), os.NewFile(uintptr(fds[1]), "host")
}

func TestNetFramesBothWays(t *testing.T) {
	vmmEnd, host := socketPair(t)
	defer host.Close()
	mac := macFromID("vm-1")
	n := newNetDev(vmmEnd, mac)
	defer n.close()
	tt := newTestTransport(t, n)
	var cfg [6]byte
	tt.read(mmioConfig, cfg[:])
	if !bytes.Equal(cfg[:], mac) || mac[0] != 0x02 || bytes.Equal(macFromID("vm-2"), mac) {
		t.Errorf("MAC %x (config %x): want 02:..., different per VM", mac, cfg)
	}
	tt.initialise(t, netFMAC|featureVersion1)

	// Transmit (queue 1): header plus frame, the frame comes out alone.
	frame := append(bytes.Repeat([]byte{0xff}, 6), []byte("src-mac\x08\x00payload")...)
	tt.d = tt.dq[netTxQueue]
	tt.d.post(0, tqBufs, buf{n: netHdrLen}, buf{n: uint32(len(frame)), data: frame})
	tt.kick(netTxQueue)
	got := make([]byte, 2048)
	m, err := host.Read(got)
	if err != nil || !bytes.Equal(got[:m], frame) {
		t.Fatalf("host read %q, %v; want %q", got[:m], err, frame)
	}

	// Receive (queue 0): the host sends a frame; it lands in the posted
	// buffer behind a 12-byte header with num_buffers 1.
	tt.d = tt.dq[netRxQueue]
	addrs := tt.d.post(0, tqBufs+0x10000, buf{n: 1526, write: true})
	if _, err := host.Write([]byte("a frame from the host side")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return tt.d.usedIdx() == 1 })
	_, ulen := tt.d.usedElem(0)
	b := tt.d.m.mem[addrs[0]:]
	if ulen != netHdrLen+26 || binary.LittleEndian.Uint16(b[10:]) != 1 || string(b[netHdrLen:netHdrLen+26]) != "a frame from the host side" {
		t.Errorf("rx used len %d, buffer %q", ulen, b[:netHdrLen+26])
	}
	// A frame bigger than the buffer is dropped, the buffer returned empty.
	tt.d.post(1, tqBufs+0x20000, buf{n: 20, write: true})
	host.Write(bytes.Repeat([]byte{'B'}, 100))
	waitFor(t, func() bool { return tt.d.usedIdx() == 2 })
	if _, ulen := tt.d.usedElem(1); ulen != 0 || tt.snapshot().Dropped != 1 {
		t.Errorf("oversized frame: used len %d, dropped %d", ulen, tt.snapshot().Dropped)
	}
	// A transmit too short for the header is refused, the device goes on.
	tt.d = tt.dq[netTxQueue]
	tt.d.post(1, tqBufs, buf{n: 4})
	tt.kick(netTxQueue)
	if s := tt.snapshot(); s.Failed != 1 || s.Broken != "" {
		t.Errorf("short transmit: %+v", s)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out")
}

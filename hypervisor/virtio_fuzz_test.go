//go:build linux

package hypervisor

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Fuzzing the guest's side of the devices: the input is the guest memory
// a queue lives in (descriptor table, avail ring, request buffers), which
// is everything a hostile guest controls. Whatever it holds, the walker
// and the device models must not panic, must not write the read-only
// image, and must leave the device either serving or broken.
//
//	go test ./hypervisor -run '^$' -fuzz FuzzVirtqueue -fuzztime 30s
//	go test ./hypervisor -run '^$' -fuzz FuzzBlkRequest -fuzztime 30s
//	go test ./hypervisor -run '^$' -fuzz FuzzNetTransmit -fuzztime 30s
//
// The seeds (valid requests of each kind, and each hostile case of
// TestVirtqueueHostile) are in testdata/fuzz/<Fuzzer>/; TWINBOOT_FUZZ_SEEDS=1
// rewrites them from the builders below.

const (
	fzMem   = 64 << 10
	fzDesc  = 0x0000
	fzAvail = 0x1000
	fzUsed  = 0x2000
	fzBufs  = 0x3000
)

// fzDescSpec is one descriptor of a seed: addr, len, flags, next.
type fzDescSpec struct {
	addr  uint64
	n     uint32
	flags uint16
	next  uint16
}

// fuzzImage lays a queue out in fresh memory and returns the seed: one
// byte choosing the queue size (1 << sizeLog), then guest memory from 0.
// The heads are published in order.
func fuzzImage(sizeLog byte, descs []fzDescSpec, heads []uint16, bufs map[uint64][]byte) []byte {
	mem := make([]byte, fzMem)
	for i, d := range descs {
		b := mem[fzDesc+16*i:]
		binary.LittleEndian.PutUint64(b[0:], d.addr)
		binary.LittleEndian.PutUint32(b[8:], d.n)
		binary.LittleEndian.PutUint16(b[12:], d.flags)
		binary.LittleEndian.PutUint16(b[14:], d.next)
	}
	for i, h := range heads {
		binary.LittleEndian.PutUint16(mem[fzAvail+4+2*i:], h)
	}
	binary.LittleEndian.PutUint16(mem[fzAvail+2:], uint16(len(heads)))
	for a, b := range bufs {
		copy(mem[a:], b)
	}
	// Trailing zeros are the fuzzer's to fill; the seed need not carry them.
	return append([]byte{sizeLog}, bytes.TrimRight(mem, "\x00")...)
}

// fuzzSetup copies data[1:] into guest memory and returns a ready queue
// over it of 1 << (data[0] % 9) descriptors, 1..256.
func fuzzSetup(t testing.TB, m *guestMemory, data []byte) virtqueue {
	clear(m.mem)
	size := uint16(8)
	if len(data) > 0 {
		size = 1 << (data[0] % 9)
		copy(m.mem, data[1:])
	}
	q := virtqueue{size: size, desc: fzDesc, avail: fzAvail, used: fzUsed}
	if err := q.check(m); err != nil {
		t.Fatal(err)
	}
	q.ready = true
	return q
}

func blkHdr(typ uint32, sector uint64) []byte {
	h := make([]byte, 16)
	binary.LittleEndian.PutUint32(h, typ)
	binary.LittleEndian.PutUint64(h[8:], sector)
	return h
}

// Seeds, all with 8-descriptor queues (sizeLog 3) but for the hostile
// ones, which use 4.
var (
	fzRead = fuzzImage(3, []fzDescSpec{
		{fzBufs, 16, virtqDescFNext, 1}, {fzBufs + 0x100, 1024, virtqDescFNext | virtqDescFWrite, 2}, {fzBufs + 0x800, 1, virtqDescFWrite, 0},
	}, []uint16{0}, map[uint64][]byte{fzBufs: blkHdr(blkTIn, 1)})
	fzWrite = fuzzImage(3, []fzDescSpec{
		{fzBufs, 16, virtqDescFNext, 1}, {fzBufs + 0x100, 512, virtqDescFNext, 2}, {fzBufs + 0x800, 1, virtqDescFWrite, 0},
	}, []uint16{0}, map[uint64][]byte{fzBufs: blkHdr(blkTOut, 3), fzBufs + 0x100: bytes.Repeat([]byte{'w'}, 512)})
	fzFlushAndID = fuzzImage(3, []fzDescSpec{
		{fzBufs, 16, virtqDescFNext, 1}, {fzBufs + 0x800, 1, virtqDescFWrite, 0},
		{fzBufs + 0x20, 16, virtqDescFNext, 3}, {fzBufs + 0x100, 20, virtqDescFNext | virtqDescFWrite, 4}, {fzBufs + 0x801, 1, virtqDescFWrite, 0},
	}, []uint16{0, 2}, map[uint64][]byte{fzBufs: blkHdr(blkTFlush, 0), fzBufs + 0x20: blkHdr(blkTGetID, 0)})
	fzLoop = fuzzImage(2, []fzDescSpec{
		{fzBufs, 16, virtqDescFNext | virtqDescFWrite, 1}, {fzBufs, 16, virtqDescFNext | virtqDescFWrite, 0},
	}, []uint16{0}, nil)
	fzOutside = fuzzImage(2, []fzDescSpec{{^uint64(0) - 4, 0xffffffff, virtqDescFWrite, 0}}, []uint16{0}, nil)
	fzRunaway = func() []byte {
		b := fuzzImage(2, []fzDescSpec{{fzBufs, 16, 0, 0}}, []uint16{0}, nil)
		b = append(b, make([]byte, 1+fzAvail+4-len(b))...)  // the trimmed image ends inside avail idx
		binary.LittleEndian.PutUint16(b[1+fzAvail+2:], 200) // past the size byte
		return b
	}()
	fzTx = fuzzImage(3, []fzDescSpec{
		{fzBufs, netHdrLen, virtqDescFNext, 1}, {fzBufs + 0x100, 60, 0, 0},
	}, []uint16{0}, map[uint64][]byte{fzBufs + 0x100: append(bytes.Repeat([]byte{0xff}, 12), 0x08, 0x06)})
)

// writeSeeds rewrites testdata/fuzz/<name>/ from seeds when asked to.
func writeSeeds(f *testing.F, seeds map[string][]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	if os.Getenv("TWINBOOT_FUZZ_SEEDS") == "" {
		return
	}
	dir := filepath.Join("testdata", "fuzz", f.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	for name, s := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(s)))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			f.Fatal(err)
		}
	}
}

var hostileSeeds = map[string][]byte{"loop": fzLoop, "outside-ram": fzOutside, "avail-runaway": fzRunaway}

func FuzzVirtqueue(f *testing.F) {
	seeds := map[string][]byte{"read": fzRead, "write": fzWrite, "flush-and-id": fzFlushAndID}
	for k, v := range hostileSeeds {
		seeds[k] = v
	}
	writeSeeds(f, seeds)
	m := newTestMemory(f, fzMem)
	f.Fuzz(func(t *testing.T, data []byte) {
		q := fuzzSetup(t, m, data)
		for i := 0; i < 2*int(q.size)+1; i++ {
			c, ok, err := q.pop(m)
			if err != nil || !ok {
				return
			}
			if n := len(c.readable) + len(c.writable); n > int(q.size) {
				t.Fatalf("a chain of %d descriptors in a queue of %d", n, q.size)
			}
			var total uint64
			for _, b := range append(c.readable, c.writable...) {
				total += uint64(len(b))
			}
			if total != c.nRead+c.nWrite {
				t.Fatalf("chain totals %d+%d, buffers hold %d", c.nRead, c.nWrite, total)
			}
			if err := q.push(m, c.head, uint32(c.nWrite)); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzBlkRequest(f *testing.F) {
	seeds := map[string][]byte{"read": fzRead, "write": fzWrite, "flush-and-id": fzFlushAndID}
	for k, v := range hostileSeeds {
		seeds[k] = v
	}
	writeSeeds(f, seeds)
	content := bytes.Repeat([]byte("disk"), 2048) // 8 KiB, 16 sectors
	img := filepath.Join(f.TempDir(), "ro.img")
	if err := os.WriteFile(img, content, 0o644); err != nil {
		f.Fatal(err)
	}
	b, err := openBlk(Disk{Path: img, ReadOnly: true}, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	defer b.close()
	m := newTestMemory(f, fzMem)
	f.Fuzz(func(t *testing.T, data []byte) {
		q := fuzzSetup(t, m, data)
		tr := newTransport("blk0", virtioMMIOBase, 5, m, b)
		tr.queues[0] = q
		tr.status = statusAcknowledge | statusDriver | statusFeaturesOK | statusDriverOK
		tr.kick(0)
		s := tr.snapshot()
		if s.BytesWrite != 0 {
			t.Fatalf("%d bytes written to a read-only disk", s.BytesWrite)
		}
		if s.Broken == "" && s.Requests > 0 && tr.queues[0].usedIdx != uint16(s.Requests) {
			t.Fatalf("%d requests, used idx %d", s.Requests, tr.queues[0].usedIdx)
		}
	})
	got, err := os.ReadFile(img)
	if err != nil || !bytes.Equal(got, content) {
		f.Fatalf("the read-only image changed (%v)", err)
	}
}

// nullBackend swallows frames and has none to give.
type nullBackend struct{ frames uint64 }

func (n *nullBackend) Read([]byte) (int, error)    { return 0, io.EOF }
func (n *nullBackend) Write(p []byte) (int, error) { n.frames++; return len(p), nil }
func (n *nullBackend) Close() error                { return nil }

func FuzzNetTransmit(f *testing.F) {
	seeds := map[string][]byte{"arp": fzTx}
	for k, v := range hostileSeeds {
		seeds[k] = v
	}
	writeSeeds(f, seeds)
	m := newTestMemory(f, fzMem)
	nb := &nullBackend{}
	n := newNetDev(nb, macFromID("fuzz"))
	f.Fuzz(func(t *testing.T, data []byte) {
		q := fuzzSetup(t, m, data)
		tr := newTransport("net0", virtioMMIOBase, 5, m, n)
		tr.queues[netTxQueue] = q
		tr.status = statusAcknowledge | statusDriver | statusFeaturesOK | statusDriverOK
		before := nb.frames
		tr.kick(netTxQueue)
		s := tr.snapshot()
		sent := nb.frames - before
		if sent+s.Failed != s.Requests || s.BytesWrite > sent*maxFrame {
			t.Fatalf("%d frames sent, stats %+v", sent, s)
		}
	})
}

// The seeds are what they claim: the valid ones are served, every hostile
// one breaks the device.
func TestFuzzSeeds(t *testing.T) {
	img := writeFile(t, "rw.img", make([]byte, 8192))
	b, err := openBlk(Disk{Path: img}, "seed")
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	m := newTestMemory(t, fzMem)
	for name, tc := range map[string]struct {
		seed     []byte
		requests uint64
		broken   bool
	}{
		"read": {fzRead, 1, false}, "write": {fzWrite, 1, false}, "flush-and-id": {fzFlushAndID, 2, false},
		"loop": {fzLoop, 0, true}, "outside-ram": {fzOutside, 0, true}, "avail-runaway": {fzRunaway, 0, true},
	} {
		q := fuzzSetup(t, m, tc.seed)
		tr := newTransport("blk0", virtioMMIOBase, 5, m, b)
		tr.queues[0] = q
		tr.status = statusAcknowledge | statusDriver | statusFeaturesOK | statusDriverOK
		tr.kick(0)
		s := tr.snapshot()
		if s.Requests != tc.requests || (s.Broken != "") != tc.broken || s.Failed != 0 {
			t.Errorf("%s: %d requests (%d failed), broken %q; want %d, broken %v", name, s.Requests, s.Failed, s.Broken, tc.requests, tc.broken)
		}
	}
}

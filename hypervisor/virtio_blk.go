//go:build linux

package hypervisor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// virtio-blk (virtio 1.x, section 5.2) is a disk: one queue of requests,
// each a chain of a 16-byte header the device reads (type, sector), the
// data (read by the device for a write, written by it for a read) and a
// one-byte status the device writes last. Here the disk is a raw image
// file: sector n is bytes 512n..512n+511 of the file, read and written with
// preadv and pwritev straight between the file and the guest's buffers.
//
// A read-only disk (--disk FILE,ro) is opened O_RDONLY and offered with
// VIRTIO_BLK_F_RO, so the guest's kernel marks the device read-only; a
// write that comes anyway is answered with an I/O error status, so it fails
// in the guest and never reaches the file. A flush (the guest's sync)
// is an fsync of the image.
const (
	virtioIDBlock = 2

	blkFSegMax  = uint64(1) << 2 // config seg_max: most data buffers per request
	blkFRO      = uint64(1) << 5 // the disk is read-only
	blkFBlkSize = uint64(1) << 6 // config blk_size
	blkFFlush   = uint64(1) << 9 // VIRTIO_BLK_T_FLUSH

	blkTIn    = 0 // read sectors
	blkTOut   = 1 // write sectors
	blkTFlush = 4
	blkTGetID = 8 // the disk's serial number, 20 bytes

	blkSOK     = 0
	blkSIOErr  = 1
	blkSUnsupp = 2

	diskSector   = 512
	blkHeader    = 16
	blkIDBytes   = 20
	blkSegMax    = 128 // with 256 descriptors, two full requests fit
	blkConfigLen = 24  // capacity, size_max, seg_max, geometry, blk_size
)

// blk is a virtio-blk device backed by an image file.
type blk struct {
	file     *os.File
	readOnly bool
	sectors  uint64 // capacity in 512-byte sectors
	serial   string
	cfg      []byte
}

// openBlk opens the image of d.
func openBlk(d Disk, serial string) (*blk, error) {
	flags := os.O_RDWR
	if d.ReadOnly {
		flags = os.O_RDONLY
	}
	f, err := os.OpenFile(d.Path, flags, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoDisk, d.Path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDisk, err)
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%w: %s is not a regular file", ErrNoDisk, d.Path)
	}
	if err == nil && st.Size() < diskSector {
		err = fmt.Errorf("%w: %s is %d bytes, less than one %d-byte sector", ErrNoDisk, d.Path, st.Size(), diskSector)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	b := &blk{file: f, readOnly: d.ReadOnly, sectors: uint64(st.Size()) / diskSector, serial: serial}
	b.cfg = make([]byte, blkConfigLen)
	binary.LittleEndian.PutUint64(b.cfg[0:], b.sectors)
	binary.LittleEndian.PutUint32(b.cfg[12:], blkSegMax)
	binary.LittleEndian.PutUint32(b.cfg[20:], diskSector)
	return b, nil
}

func (b *blk) kind() string        { return "virtio-blk" }
func (b *blk) deviceID() uint32    { return virtioIDBlock }
func (b *blk) queueCount() int     { return 1 }
func (b *blk) config() []byte      { return b.cfg }
func (b *blk) activate(*transport) {}
func (b *blk) reset()              {}

func (b *blk) features() uint64 {
	f := blkFSegMax | blkFBlkSize | blkFFlush
	if b.readOnly {
		f |= blkFRO
	}
	return f
}

func (b *blk) close() error { return b.file.Close() }

// notify serves every request in the queue, on the notifying thread.
func (b *blk) notify(t *transport, q int) {
	t.drain(q, func(c *chain) (uint32, error) { return b.serve(t, c) })
}

// blkRequest is a parsed request. data aliases guest memory.
type blkRequest struct {
	typ    uint32
	sector uint64
	data   [][]byte // the buffers to read from (OUT) or fill (IN, GET_ID)
	n      uint64   // bytes in data
	status []byte   // the one status byte
	// bad is the status to answer at once, without touching the file,
	// when the request is well framed but cannot be served.
	bad byte
}

// parseBlkRequest takes a chain apart, trusting nothing in it. It fails
// only when the chain has no byte to write a status into, so the request
// cannot even be refused; every other fault is a request to answer with an
// error status (bad != blkSOK). The header may be split across descriptors:
// a device must not assume the driver's framing.
func parseBlkRequest(c *chain, sectors uint64) (blkRequest, error) {
	if c.nWrite == 0 {
		return blkRequest{}, fmt.Errorf("%w: virtio-blk request with no writable status byte", ErrBadRequest)
	}
	r := blkRequest{status: span(c.writable, c.nWrite-1, 1)[0]}
	var hdr [blkHeader]byte
	if c.gather(hdr[:], 0) < blkHeader {
		r.bad = blkSIOErr
		return r, nil
	}
	r.typ = binary.LittleEndian.Uint32(hdr[0:])
	r.sector = binary.LittleEndian.Uint64(hdr[8:])
	switch r.typ {
	case blkTIn:
		r.n = c.nWrite - 1
		r.data = span(c.writable, 0, r.n)
	case blkTOut:
		r.n = c.nRead - blkHeader
		r.data = span(c.readable, blkHeader, r.n)
	case blkTGetID:
		r.n = min(c.nWrite-1, blkIDBytes)
		r.data = span(c.writable, 0, r.n)
		return r, nil
	case blkTFlush:
		return r, nil
	default:
		r.bad = blkSUnsupp
		return r, nil
	}
	// Whole sectors, all of them on the disk. sector is compared before
	// anything is added to it, so a huge one cannot wrap around.
	if r.n%diskSector != 0 || r.sector > sectors || r.n/diskSector > sectors-r.sector {
		r.bad = blkSIOErr
	}
	return r, nil
}

// serve executes one request and returns how many bytes it wrote into the
// guest's buffers, the status byte included.
func (b *blk) serve(t *transport, c *chain) (uint32, error) {
	r, err := parseBlkRequest(c, b.sectors)
	if err != nil {
		return 0, err
	}
	status, written := r.bad, uint64(0)
	if status == blkSOK {
		status, written = b.execute(t, &r)
	}
	if status != blkSOK {
		t.stats.failed.Add(1)
		written = 0
	}
	r.status[0] = status
	return uint32(min(written+1, uint64(^uint32(0)))), nil
}

func (b *blk) execute(t *transport, r *blkRequest) (status byte, written uint64) {
	off := int64(r.sector * diskSector)
	switch r.typ {
	case blkTIn:
		if err := fullIO(unix.Preadv, int(b.file.Fd()), r.data, off); err != nil {
			return blkSIOErr, 0
		}
		t.stats.bytesRead.Add(r.n)
		return blkSOK, r.n
	case blkTOut:
		if b.readOnly {
			return blkSIOErr, 0
		}
		if err := fullIO(unix.Pwritev, int(b.file.Fd()), r.data, off); err != nil {
			return blkSIOErr, 0
		}
		t.stats.bytesWrite.Add(r.n)
		return blkSOK, 0
	case blkTFlush:
		t.stats.flushes.Add(1)
		if b.readOnly {
			return blkSOK, 0 // nothing of ours to write back
		}
		if err := b.file.Sync(); err != nil {
			return blkSIOErr, 0
		}
		return blkSOK, 0
	case blkTGetID:
		id := make([]byte, r.n)
		copy(id, b.serial)
		n := uint64(0)
		for _, d := range r.data {
			n += uint64(copy(d, id[n:]))
		}
		return blkSOK, n
	}
	return blkSUnsupp, 0
}

// fullIO runs preadv or pwritev until every buffer is done. Reaching the
// end of the file early (the image shrank under us) is an error.
func fullIO(op func(int, [][]byte, int64) (int, error), fd int, bufs [][]byte, off int64) error {
	for len(bufs) > 0 {
		// At most IOV_MAX buffers per call.
		batch := bufs[:min(len(bufs), 1024)]
		n, err := op(fd, batch, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("short transfer at offset %d", off)
		}
		off += int64(n)
		for n > 0 && len(bufs) > 0 {
			if n >= len(bufs[0]) {
				n -= len(bufs[0])
				bufs = bufs[1:]
				continue
			}
			bufs = append([][]byte{bufs[0][n:]}, bufs[1:]...)
			n = 0
		}
	}
	return nil
}

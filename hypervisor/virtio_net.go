//go:build linux

package hypervisor

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
)

// virtio-net (virtio 1.x, section 5.1) is a NIC with two queues: receive
// (queue 0), where the driver posts empty buffers for us to fill with
// frames from the outside, and transmit (queue 1), where it posts frames to
// send. Each frame travels behind a 12-byte virtio_net_hdr_v1; no offloads
// are offered, so the header is all zeros but for num_buffers (always 1)
// and the frame is a plain Ethernet frame.
//
// The outside is a TAP device (tap_linux.go): every Read of it is one
// frame the host's network stack sent to the guest, every Write one frame
// the guest sends. A goroutine of ours blocks reading the TAP and hands
// each frame to the guest's next receive buffer; transmits are served on
// the notifying thread. A frame that does not fit the buffer it gets is
// dropped and counted, as a real NIC would.
const (
	virtioIDNet = 1

	netFMAC = uint64(1) << 5 // config holds the MAC address

	netRxQueue = 0
	netTxQueue = 1

	netHdrLen = 12 // virtio_net_hdr_v1: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers
	// maxFrame is the largest frame we carry: a 64 KiB TAP frame with its
	// Ethernet header. Without offloads Linux sends at most its MTU.
	maxFrame = 65535 + 14
)

// macFromID derives a locally administered unicast MAC (02:xx:xx:xx:xx:xx)
// from a VM's ID: stable for the same ID, different for different ones.
func macFromID(id string) net.HardwareAddr {
	h := sha256.Sum256([]byte("twinboot-mac:" + id))
	return net.HardwareAddr{0x02, h[0], h[1], h[2], h[3], h[4]}
}

// netDev is a virtio-net device on a frame backend (a TAP, or in tests
// one end of a socket pair).
type netDev struct {
	backend io.ReadWriteCloser
	cfg     []byte // mac[6], status u16 (unused: VIRTIO_NET_F_STATUS is not offered)

	rxWake  chan struct{} // the driver posted receive buffers
	done    chan struct{}
	wg      sync.WaitGroup
	started sync.Once
	txBuf   []byte
}

func newNetDev(backend io.ReadWriteCloser, mac net.HardwareAddr) *netDev {
	n := &netDev{backend: backend, cfg: make([]byte, 8), rxWake: make(chan struct{}, 1),
		done: make(chan struct{}), txBuf: make([]byte, maxFrame)}
	copy(n.cfg, mac)
	return n
}

func (n *netDev) kind() string          { return "virtio-net" }
func (n *netDev) deviceID() uint32      { return virtioIDNet }
func (n *netDev) features() uint64      { return netFMAC }
func (n *netDev) queueCount() int       { return 2 }
func (n *netDev) config() []byte        { return n.cfg }
func (n *netDev) reset()                {}
func (n *netDev) mac() net.HardwareAddr { return net.HardwareAddr(n.cfg[:6]) }

// activate starts the receive loop the first time the driver is ready.
func (n *netDev) activate(t *transport) {
	n.started.Do(func() {
		n.wg.Add(1)
		go n.receive(t)
	})
}

func (n *netDev) notify(t *transport, q int) {
	switch q {
	case netRxQueue:
		select {
		case n.rxWake <- struct{}{}:
		default:
		}
	case netTxQueue:
		t.drain(q, func(c *chain) (uint32, error) { return n.transmit(t, c), nil })
	}
}

// transmit sends one frame the guest queued. A chain too short for the
// header, or longer than a frame can be, is dropped.
func (n *netDev) transmit(t *transport, c *chain) uint32 {
	frame, err := parseNetTx(c, n.txBuf)
	if err != nil {
		t.stats.failed.Add(1)
		return 0
	}
	if _, err := n.backend.Write(frame); err != nil {
		t.stats.dropped.Add(1)
		return 0
	}
	t.stats.bytesWrite.Add(uint64(len(frame)))
	return 0
}

// parseNetTx copies the frame of a transmit chain into buf and returns it.
func parseNetTx(c *chain, buf []byte) ([]byte, error) {
	if c.nRead < netHdrLen {
		return nil, fmt.Errorf("%w: transmit chain of %d bytes, shorter than the %d-byte header", ErrBadRequest, c.nRead, netHdrLen)
	}
	size := c.nRead - netHdrLen
	if size > uint64(len(buf)) || size < 14 {
		return nil, fmt.Errorf("%w: %d-byte frame (want 14..%d)", ErrBadRequest, size, len(buf))
	}
	return buf[:c.gather(buf[:size], netHdrLen)], nil
}

// receive runs for the VM's life: read a frame from the backend, wait for
// a receive buffer, copy the frame in, interrupt.
func (n *netDev) receive(t *transport) {
	defer n.wg.Done()
	buf := make([]byte, netHdrLen+maxFrame)
	hdr := buf[:netHdrLen]
	binary.LittleEndian.PutUint16(hdr[10:], 1) // num_buffers
	for {
		m, err := n.backend.Read(buf[netHdrLen:])
		if err != nil {
			return // closed: the VM is going away
		}
		pkt := buf[:netHdrLen+m]
		for {
			served, live := t.serveOne(netRxQueue, func(c *chain) (uint32, error) {
				if c.nWrite < uint64(len(pkt)) {
					t.stats.dropped.Add(1)
					return 0, nil
				}
				t.stats.bytesRead.Add(uint64(m))
				return uint32(c.scatter(pkt, 0)), nil
			})
			if !live {
				t.stats.dropped.Add(1) // nobody listens: the driver is not up, or the device broke
			}
			if served || !live {
				break
			}
			select {
			case <-n.rxWake:
			case <-n.done:
				return
			}
		}
	}
}

// close stops the receive loop and closes the backend.
func (n *netDev) close() error {
	close(n.done)
	err := n.backend.Close()
	n.wg.Wait()
	return err
}

//go:build linux && amd64

package hypervisor

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"

	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"
)

// backends are a VM's device backends, opened before /dev/kvm so that a
// missing image or TAP fails New with nothing created.
type backends struct {
	disks []*blk
	nics  []*netDev
	names []string // image path or TAP name, per device
}

// openBackends opens every disk image and TAP device of cfg. TAPs are
// attached on the calling thread, so a caller that locked its thread into a
// network namespace gets that namespace's TAP.
func openBackends(cfg Config) (b *backends, err error) {
	b = &backends{}
	defer func() {
		if err != nil {
			b.close()
			b = nil
		}
	}()
	for i, d := range cfg.Disks {
		dev, err := openBlk(d, fmt.Sprintf("twinboot-vd%c", 'a'+i))
		if err != nil {
			return b, err
		}
		b.disks = append(b.disks, dev)
		b.names = append(b.names, d.Path)
	}
	for i, n := range cfg.NICs {
		mac := macFromID(cfg.ID + "/" + strconv.Itoa(i))
		if cfg.ID == "" {
			mac = macFromID("tap:" + n.TAP)
		}
		if n.MAC != "" {
			mac, _ = net.ParseMAC(n.MAC) // validate checked it
		}
		tap, err := OpenTAP(n.Netns, n.TAP)
		if err != nil {
			return b, err
		}
		b.nics = append(b.nics, newNetDev(tap, mac))
		b.names = append(b.names, n.TAP)
	}
	return b, nil
}

func (b *backends) close() error {
	var errs []error
	for _, d := range b.disks {
		errs = append(errs, d.close())
	}
	for _, n := range b.nics {
		errs = append(errs, n.close())
	}
	b.disks, b.nics = nil, nil
	return errors.Join(errs...)
}

// devices are a VM's virtio devices once attached to it.
type devices struct {
	list      []*transport
	backend   []string
	ioevent   []bool
	irqfd     []bool
	notifyFDs []*os.File // ioeventfds, one per queue
	irqFDs    []*os.File // irqfds, one per device
	workers   sync.WaitGroup
	b         *backends
}

// attachDevices gives each backend a transport at its window and IRQ, and
// binds its queue notifications and its interrupt to eventfds when KVM can.
func (vm *VM) attachDevices(b *backends) error {
	d := &devices{b: b}
	vm.devs = d
	if len(b.disks)+len(b.nics) > 0 {
		reserveProcs(len(vm.vcpus))
	}
	var devs []virtioDevice
	var names []string
	for i, x := range b.disks {
		devs, names = append(devs, x), append(names, fmt.Sprintf("blk%d", i))
	}
	for i, x := range b.nics {
		devs, names = append(devs, x), append(names, fmt.Sprintf("net%d", i))
	}
	vmfd := vm.vmf.Fd()
	for i, dev := range devs {
		base := virtioMMIOBase + uint64(i)*virtioMMIOStride
		t := newTransport(names[i], base, virtioIRQs[i], vm.mem, dev)
		d.list = append(d.list, t)
		d.backend = append(d.backend, b.names[i])
		irq, err := d.bindIRQ(vmfd, t)
		if err != nil {
			return err
		}
		d.irqfd = append(d.irqfd, irq)
		ev, err := d.bindNotify(vmfd, t)
		if err != nil {
			return err
		}
		d.ioevent = append(d.ioevent, ev)
	}
	return nil
}

// bindIRQ sets how t raises its interrupt: through an irqfd, or else with
// a KVM_IRQ_LINE pulse (the line is edge-triggered).
func (d *devices) bindIRQ(vmfd uintptr, t *transport) (bool, error) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return false, fmt.Errorf("%s: eventfd: %w", t.name, err)
	}
	if err := irqfd(vmfd, t.irq, efd); err != nil {
		unix.Close(efd)
		t.signal = func() error {
			if err := kvm.IRQLineStatus(vmfd, t.irq, 1); err != nil {
				return err
			}
			return kvm.IRQLineStatus(vmfd, t.irq, 0)
		}
		return false, nil
	}
	d.irqFDs = append(d.irqFDs, os.NewFile(uintptr(efd), t.name+"-irqfd"))
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	t.signal = func() error {
		_, err := unix.Write(efd, one)
		if err == unix.EAGAIN {
			return nil // the counter is saturated: an interrupt is pending anyway
		}
		return err
	}
	return true, nil
}

// bindNotify registers an ioeventfd per queue of t, each with a goroutine
// that processes the queue when the guest notifies it. A KVM without
// ioeventfds leaves the notifications to come as MMIO exits.
func (d *devices) bindNotify(vmfd uintptr, t *transport) (bool, error) {
	for q := range t.queues {
		efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			return false, fmt.Errorf("%s: eventfd: %w", t.name, err)
		}
		if err := ioeventfd(vmfd, t.base+mmioQueueNotify, uint32(q), efd); err != nil {
			unix.Close(efd)
			if q == 0 {
				return false, nil
			}
			return false, fmt.Errorf("%s: %w", t.name, err)
		}
		f := os.NewFile(uintptr(efd), fmt.Sprintf("%s-notify%d", t.name, q))
		d.notifyFDs = append(d.notifyFDs, f)
		d.workers.Add(1)
		go func() {
			defer d.workers.Done()
			var buf [8]byte
			for {
				if _, err := io.ReadFull(f, buf[:]); err != nil {
					return // closed
				}
				t.stats.notifies.Add(1)
				t.kick(q)
			}
		}()
	}
	return true, nil
}

// device returns the device whose window holds addr, or nil.
func (vm *VM) device(addr uint64) *transport {
	if vm.devs == nil || addr < virtioMMIOBase {
		return nil
	}
	i := (addr - virtioMMIOBase) / virtioMMIOStride
	if i >= uint64(len(vm.devs.list)) {
		return nil
	}
	return vm.devs.list[i]
}

// stats reports every device's counters.
func (d *devices) stats() []DeviceStats {
	if d == nil {
		return nil
	}
	var out []DeviceStats
	for i, t := range d.list {
		s := t.snapshot()
		s.Backend, s.IOEventFD, s.IRQFD = d.backend[i], d.ioevent[i], d.irqfd[i]
		out = append(out, s)
	}
	return out
}

// close stops the devices' goroutines and closes their backends. It must
// run before guest RAM is unmapped: the goroutines write into it.
func (d *devices) close() error {
	if d == nil {
		return nil
	}
	var errs []error
	for _, f := range d.notifyFDs {
		errs = append(errs, f.Close())
	}
	d.workers.Wait()
	// The receive loops may still raise interrupts until their backends
	// close; only then may the irqfds go.
	errs = append(errs, d.b.close())
	for _, f := range d.irqFDs {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// reserveProcs makes sure the Go scheduler has a processor (a P) for the
// device goroutines while every vCPU goroutine sits in KVM_RUN. A
// goroutine in a system call keeps its P until the runtime's monitor
// takes it back, which it checks at intervals of 20 us to 10 ms; on a
// machine with one CPU (L1 in nested mode has one), GOMAXPROCS is 1, and a
// queue notification waited for that check, measured at 8 ms per 4 KiB
// read (the kernel there ticks at 4 ms without high-resolution timers).
// One P more than there are vCPUs lets an idle P wait in the poller, so an
// ioeventfd wakes its goroutine at once. This is why the VMM is best a
// process of its own: the setting is process-wide.
func reserveProcs(vcpus int) {
	if runtime.GOMAXPROCS(0) < vcpus+1 {
		runtime.GOMAXPROCS(vcpus + 1)
	}
}

package hypervisor

import (
	"fmt"

	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"
)

// guestMemory is the guest's RAM: one anonymous host mapping that KVM maps at
// guest-physical address 0. The guest's "physical" address p is simply
// byte p of this slice.
//
// The mapping is MAP_NORESERVE and never pre-touched: the host kernel hands
// out a page only when someone first writes it (us, loading the kernel, or
// the guest). That is what makes "guest RAM touched" (smaps Rss of this
// range) a meaningful figure, and why a 1 GiB guest can cost a few MiB.
//
// The mapping sits between two inaccessible guard pages. Besides catching
// stray accesses, they stop the kernel from merging our mapping with a
// neighbouring anonymous one (the Go heap, say), which would make smaps
// report the two together and the "touched" figure meaningless.
type guestMemory struct {
	mem   []byte // guest RAM, guest-physical 0 at index 0
	whole []byte // mem plus the guard pages, for munmap
}

// mergeable marks it for KSM (see Config.Mergeable).
func newGuestMemory(size uint64, mergeable bool) (*guestMemory, error) {
	whole, err := unix.Mmap(-1, 0, int(size)+2*pageSize, unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("map %d MiB of guest RAM: %w", size>>20, err)
	}
	mem := whole[pageSize : pageSize+int(size)]
	if err := unix.Mprotect(mem, unix.PROT_READ|unix.PROT_WRITE); err != nil {
		unix.Munmap(whole)
		return nil, fmt.Errorf("make guest RAM writable: %w", err)
	}
	if mergeable {
		if err := unix.Madvise(mem, unix.MADV_MERGEABLE); err != nil {
			unix.Munmap(whole)
			return nil, fmt.Errorf("madvise(MADV_MERGEABLE) on guest RAM (a kernel without CONFIG_KSM?): %w", err)
		}
	}
	return &guestMemory{mem: mem, whole: whole}, nil
}

// register tells KVM that guest-physical [0, size) is backed by our mapping.
// Slot 0 is the only memory slot: there are no holes to punch, because RAM
// ends below the device area. The virtio-mmio windows above it are
// deliberately not memory, so that every access to them exits to us.
func (g *guestMemory) register(vm uintptr) error {
	r := kvm.UserspaceMemoryRegion{
		Slot:          0,
		GuestPhysAddr: 0,
		MemorySize:    uint64(len(g.mem)),
		UserspaceAddr: g.hostAddr(),
	}
	if err := kvm.SetUserMemoryRegion(vm, &r); err != nil {
		return fmt.Errorf("KVM_SET_USER_MEMORY_REGION (%d MiB): %w", len(g.mem)>>20, err)
	}
	return nil
}

func (g *guestMemory) size() uint64 { return uint64(len(g.mem)) }

// at returns guest-physical [addr, addr+n) as a slice, or an error if the
// range is not RAM. Loaders write through it.
func (g *guestMemory) at(addr, n uint64) ([]byte, error) {
	if addr > g.size() || n > g.size()-addr {
		return nil, fmt.Errorf("%w: guest range %#x+%#x is beyond RAM (%d MiB)", ErrMemTooSmall, addr, n, g.size()>>20)
	}
	return g.mem[addr : addr+n : addr+n], nil
}

// write copies b to guest-physical addr.
func (g *guestMemory) write(addr uint64, b []byte) error {
	dst, err := g.at(addr, uint64(len(b)))
	if err != nil {
		return err
	}
	copy(dst, b)
	return nil
}

func (g *guestMemory) unmap() error {
	if g.whole == nil {
		return nil
	}
	err := unix.Munmap(g.whole)
	g.mem, g.whole = nil, nil
	if err != nil {
		return fmt.Errorf("unmap guest RAM: %w", err)
	}
	return nil
}

// word returns the 4 bytes at guest-physical addr for an atomic access,
// which must be 4-aligned (x86 makes aligned accesses atomic; the host
// mapping is page-aligned, so guest alignment is host alignment).
func (g *guestMemory) word(addr uint64) ([]byte, error) {
	if addr%4 != 0 {
		return nil, fmt.Errorf("%w: %#x is not 4-byte aligned", ErrGuestAddress, addr)
	}
	return g.slice(addr, 4)
}

// contains says whether guest-physical [addr, addr+n) is RAM. It cannot
// overflow: addr+n is never computed.
func (g *guestMemory) contains(addr, n uint64) bool {
	return addr <= g.size() && n <= g.size()-addr
}

// slice is at for device code: guest-physical [addr, addr+n) or
// ErrGuestAddress. Every address a guest hands a device goes through here.
func (g *guestMemory) slice(addr, n uint64) ([]byte, error) {
	if !g.contains(addr, n) {
		return nil, fmt.Errorf("%w: %#x+%#x (RAM is %#x bytes)", ErrGuestAddress, addr, n, g.size())
	}
	return g.mem[addr : addr+n : addr+n], nil
}

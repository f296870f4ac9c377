//go:build linux

package hypervisor

import (
	"sync/atomic"
	"unsafe"
)

// hostAddr is the host virtual address of guest-physical 0: what KVM needs
// to find the backing pages, and what /proc/self/smaps names the mapping by.
func (g *guestMemory) hostAddr() uint64 {
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(g.mem))))
}

// The virtqueue's ring indices are shared with the guest, which reads and
// writes them from another CPU while we do. They are read and written with
// sync/atomic so that neither the compiler nor the CPU moves our accesses to
// the ring entries across them: the guest fills a descriptor before it
// publishes the avail index, and we fill a used entry before we publish ours.

// loadUint32 atomically reads the little-endian 32-bit word at the 4-aligned
// guest-physical addr.
func (g *guestMemory) loadUint32(addr uint64) (uint32, error) {
	b, err := g.word(addr)
	if err != nil {
		return 0, err
	}
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(unsafe.SliceData(b)))), nil
}

// storeUint32 atomically writes the 32-bit word at the 4-aligned
// guest-physical addr.
func (g *guestMemory) storeUint32(addr uint64, v uint32) error {
	b, err := g.word(addr)
	if err != nil {
		return err
	}
	atomic.StoreUint32((*uint32)(unsafe.Pointer(unsafe.SliceData(b))), v)
	return nil
}

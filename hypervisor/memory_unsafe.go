//go:build linux

package hypervisor

import "unsafe"

// hostAddr is the host virtual address of guest-physical 0: what KVM needs
// to find the backing pages, and what /proc/self/smaps names the mapping by.
func (g *guestMemory) hostAddr() uint64 {
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(g.mem))))
}

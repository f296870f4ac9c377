//go:build linux && amd64

package hypervisor

import "encoding/binary"

// Page-table entry bits.
const (
	ptePresent  = 1 << 0
	pteWritable = 1 << 1
	pteHuge     = 1 << 7 // in a page directory entry: a 2 MiB page
	hugePage    = 2 << 20
	mappedGiB   = 4
)

// identityPageTables builds the page tables a 64-bit entry needs: long mode
// cannot run without paging, so before the first instruction the guest
// needs virtual = physical for everything the boot touches. We map the whole
// first 4 GiB with 2 MiB pages: one PML4 entry -> one PDPT with four entries
// -> four page directories of 512 entries each. Six pages in all; the kernel
// builds its own tables soon after and never looks at these again.
//
// The result maps pages at their addresses in layout.go: key is the
// guest-physical address of each table page.
func identityPageTables() map[uint64][]byte {
	pml4 := make([]byte, pageSize)
	pdpt := make([]byte, pageSize)
	binary.LittleEndian.PutUint64(pml4, pdptAddr|ptePresent|pteWritable)
	tables := map[uint64][]byte{pml4Addr: pml4, pdptAddr: pdpt}
	for g := uint64(0); g < mappedGiB; g++ {
		pd := make([]byte, pageSize)
		pdPage := uint64(pdAddr) + g*pageSize
		binary.LittleEndian.PutUint64(pdpt[8*g:], pdPage|ptePresent|pteWritable)
		for i := uint64(0); i < 512; i++ {
			phys := g<<30 + i*hugePage
			binary.LittleEndian.PutUint64(pd[8*i:], phys|ptePresent|pteWritable|pteHuge)
		}
		tables[pdPage] = pd
	}
	return tables
}

package network

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/plugins/ipam/host-local/backend/allocator"
	"github.com/containernetworking/plugins/plugins/ipam/host-local/backend/disk"
)

// addrPool hands out the lab's addresses with CNI's host-local allocator: one
// file per address under dir/<network>, holding the endpoint's ID, locked
// across processes. The lab host's address is the range's gateway, which
// the allocator never hands out.
type addrPool struct {
	store *disk.Store
	alloc *allocator.IPAllocator
}

func newIPAM(network, dir string, subnet *net.IPNet, host net.IP) (*addrPool, error) {
	store, err := disk.New(network, dir)
	if err != nil {
		return nil, fmt.Errorf("address store: %w", err)
	}
	rs := allocator.RangeSet{{Subnet: types.IPNet(*subnet), Gateway: host}}
	if err := rs.Canonicalize(); err != nil {
		store.Close()
		return nil, fmt.Errorf("address range %s: %w", subnet, err)
	}
	return &addrPool{store: store, alloc: allocator.NewIPAllocator(&rs, store, 0)}, nil
}

// get reserves an address for the endpoint id.
func (a *addrPool) get(id string) (net.IPNet, error) {
	c, err := a.alloc.Get(id, "eth0", nil)
	if err != nil {
		if strings.Contains(err.Error(), "no IP addresses available") {
			return net.IPNet{}, fmt.Errorf("%w: %v", ErrFull, err)
		}
		return net.IPNet{}, fmt.Errorf("reserve address for %s: %w", id, err)
	}
	return c.Address, nil
}

// release frees the endpoint's address.
func (a *addrPool) release(id string) error {
	if err := a.alloc.Release(id, "eth0"); err != nil {
		return fmt.Errorf("release address of %s: %w", id, err)
	}
	return nil
}

func (a *addrPool) close() error {
	return errors.Join(a.store.Close())
}

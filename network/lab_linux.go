package network

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// Lab is one lab network: its namespace, bridge, lab host address and the
// endpoints (VMs and containers) on it.
type Lab struct {
	rec    record
	subnet *net.IPNet
	host   net.IP
	ipam   *addrPool

	mu        sync.Mutex
	endpoints []*Endpoint
	links     int // numbers the lab-side links: ve0, tap0, ...
	closed    bool
}

// Name is the network's name, twinboot-<pid>-<n>.
func (l *Lab) Name() string { return l.rec.Name }

// Subnet is the lab subnet.
func (l *Lab) Subnet() *net.IPNet { return l.subnet }

// HostIP is the lab host's address, on the bridge.
func (l *Lab) HostIP() net.IP { return l.host }

// Netns is the path of the lab namespace's file (for setns(2)).
func (l *Lab) Netns() string { return l.rec.Netns }

// New builds a lab network: it records it, makes its namespace, and in it
// brings lo up, adds the bridge and gives it the lab host address. Nothing
// outside the new namespace changes but StateRoot. The caller must Close
// it; a SIGKILLed caller's network is removed by the next CleanupStale.
func New(c Config) (*Lab, error) {
	if err := CheckConfig(c); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, ErrNotRoot
	}
	if _, err := CleanupStale(); err != nil {
		return nil, err
	}
	pid, start, err := ownerSelf()
	if err != nil {
		return nil, err
	}
	unlock, err := lockRootOpt(true)
	if err != nil {
		return nil, err
	}
	recs, err := records()
	if err != nil {
		unlock()
		return nil, err
	}
	subnet, err := pickSubnet(c.Subnet, recs)
	if err != nil {
		unlock()
		return nil, err
	}
	l := &Lab{subnet: subnet, host: hostAddr(subnet)}
	l.rec = record{Name: newName(), OwnerPID: pid, OwnerStart: start, Subnet: subnet.String()}
	l.rec.Netns = filepath.Join(l.rec.dir(), "netns")
	if err := os.Mkdir(l.rec.dir(), 0o711); err != nil {
		unlock()
		return nil, fmt.Errorf("create network dir: %w", err)
	}
	// The record is written before the namespace exists, and under the
	// lock: from here on a kill leaves something the next run removes, and
	// a run starting now sees this subnet as taken.
	err = l.rec.save()
	unlock()
	if err == nil {
		err = l.build()
	}
	if err != nil {
		l.rec.remove()
		return nil, err
	}
	return l, nil
}

func (l *Lab) build() error {
	if err := makeNetns(l.rec.Netns); err != nil {
		return err
	}
	if err := l.do(func() error {
		if err := linkUp("lo"); err != nil {
			return err
		}
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: BridgeName}}
		if err := netlink.LinkAdd(br); err != nil {
			return linkAddError("bridge", BridgeName, err)
		}
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: l.host, Mask: l.subnet.Mask}}
		if err := netlink.AddrAdd(br, addr); err != nil {
			return fmt.Errorf("add lab host address %s: %w", addr.IPNet, err)
		}
		return linkUp(BridgeName)
	}); err != nil {
		return err
	}
	var err error
	l.ipam, err = newIPAM(l.rec.Name, filepath.Join(l.rec.dir(), "ipam"), l.subnet, l.host)
	return err
}

// Do runs fn on a thread in the lab namespace: what fn opens there (a
// socket, a listener) stays in the lab namespace, whatever thread uses it
// later. This is where the lab host's probes and benchmarks run from.
func (l *Lab) Do(fn func() error) error {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return l.do(fn)
}

func (l *Lab) do(fn func() error) error {
	return ns.WithNetNSPath(l.rec.Netns, func(ns.NetNS) error { return fn() })
}

// Close removes the network: every endpoint's address is released, the
// namespace is freed (every link, address and route in it goes with it)
// and its directory is removed. It is safe to call twice.
func (l *Lab) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	var err error
	for _, e := range l.endpoints {
		if l.ipam != nil {
			err = errors.Join(err, l.ipam.release(e.ID))
		}
	}
	l.endpoints = nil
	if l.ipam != nil {
		err = errors.Join(err, l.ipam.close())
	}
	return errors.Join(err, l.rec.remove())
}

func linkUp(name string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}

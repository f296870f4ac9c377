package network

import (
	"fmt"
	"net"
	"strconv"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ip"
	"github.com/containernetworking/plugins/pkg/ipam"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// Kinds of endpoint.
const (
	KindVM        = "vm"
	KindContainer = "container"
)

// IfName is the endpoint's interface inside the VM or container.
const IfName = "eth0"

// Endpoint is one VM or container on the lab network.
type Endpoint struct {
	Kind     string    `json:"kind"`
	ID       string    `json:"id"`
	Hostname string    `json:"hostname"`
	Addr     net.IPNet `json:"-"`
	// Link is the lab-side link: the TAP the VMM opens, or the lab end of
	// the container's veth pair; empty until attached.
	Link string `json:"link,omitempty"`
}

// IP is the endpoint's address.
func (e *Endpoint) IP() net.IP { return e.Addr.IP }

// Reserve gives an endpoint its address, before it is started: so that
// every side's /etc/hosts can name all the others. hostname is its name on
// the network; id must be unique on it.
func (l *Lab) Reserve(kind, id, hostname string) (*Endpoint, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	if kind != KindVM && kind != KindContainer {
		return nil, fmt.Errorf("endpoint kind %q (want %s or %s)", kind, KindVM, KindContainer)
	}
	if err := checkHostname(hostname); err != nil {
		return nil, err
	}
	for _, e := range l.endpoints {
		if e.ID == id || e.Hostname == hostname {
			return nil, fmt.Errorf("endpoint %s (%s) is already on %s", id, hostname, l.rec.Name)
		}
	}
	addr, err := l.ipam.get(id)
	if err != nil {
		return nil, err
	}
	e := &Endpoint{Kind: kind, ID: id, Hostname: hostname, Addr: addr}
	l.endpoints = append(l.endpoints, e)
	return e, nil
}

// Endpoints lists the endpoints reserved so far.
func (l *Lab) Endpoints() []Endpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Endpoint, len(l.endpoints))
	for i, e := range l.endpoints {
		out[i] = *e
	}
	return out
}

func (l *Lab) nextLink(prefix string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.links
	l.links++
	return prefix + strconv.Itoa(n)
}

// AttachContainer wires a container's network namespace, that of process
// pid, to the lab as the CNI bridge plugin does: from inside it, a veth
// pair whose eth0 stays and whose other end moves to the lab namespace;
// eth0 gets the endpoint's address (and lo is brought up); the lab end
// joins the bridge. The container's namespace must be its own: the host's
// is refused.
func (l *Lab) AttachContainer(e *Endpoint, pid int) error {
	if e.Kind != KindContainer {
		return fmt.Errorf("attach %s: not a container endpoint", e.ID)
	}
	path := "/proc/" + strconv.Itoa(pid) + "/ns/net"
	if same, err := sameNetns(path, ownNetns); err != nil {
		return fmt.Errorf("attach container %s: %w", e.ID, err)
	} else if same {
		return fmt.Errorf("attach container %s: process %d is in twinboot's own network namespace (the container needs a network namespace of its own)", e.ID, pid)
	}
	labNS, err := ns.GetNS(l.rec.Netns)
	if err != nil {
		return fmt.Errorf("open lab namespace: %w", err)
	}
	defer labNS.Close()
	link := l.nextLink("ve")
	err = ns.WithNetNSPath(path, func(ns.NetNS) error {
		if err := linkUp("lo"); err != nil {
			return err
		}
		if _, _, err := ip.SetupVethWithName(IfName, link, 1500, "", labNS); err != nil {
			return linkAddError("veth", link, err)
		}
		res := &current.Result{
			Interfaces: []*current.Interface{{Name: IfName}},
			IPs:        []*current.IPConfig{{Interface: current.Int(0), Address: e.Addr}},
		}
		return ipam.ConfigureIface(IfName, res)
	})
	if err != nil {
		return fmt.Errorf("attach container %s: %w", e.ID, err)
	}
	if err := l.do(func() error { return joinBridge(link) }); err != nil {
		return fmt.Errorf("attach container %s: %w", e.ID, err)
	}
	l.mu.Lock()
	e.Link = link
	l.mu.Unlock()
	return nil
}

// AddTAP makes the VM's TAP in the lab namespace, on the bridge, and
// returns its name. The VMM attaches to it from inside the namespace
// (hypervisor.NIC's Netns); the VM gets its address from the ip= word
// (Endpoint.KernelIP).
func (l *Lab) AddTAP(e *Endpoint) (string, error) {
	if e.Kind != KindVM {
		return "", fmt.Errorf("add TAP for %s: not a VM endpoint", e.ID)
	}
	name := l.nextLink("tap")
	err := l.do(func() error {
		tap := &netlink.Tuntap{
			LinkAttrs: netlink.LinkAttrs{Name: name},
			Mode:      netlink.TUNTAP_MODE_TAP,
			// What the VMM asks for when it attaches: no packet-info
			// prefix, one queue, no virtio-net header.
			Flags: netlink.TUNTAP_NO_PI | netlink.TUNTAP_ONE_QUEUE,
		}
		if err := netlink.LinkAdd(tap); err != nil {
			return linkAddError("tun", name, err)
		}
		for _, f := range tap.Fds {
			f.Close()
		}
		return joinBridge(name)
	})
	if err != nil {
		return "", fmt.Errorf("add TAP for %s: %w", e.ID, err)
	}
	l.mu.Lock()
	e.Link = name
	l.mu.Unlock()
	return name, nil
}

// Release frees an endpoint's address and removes its lab-side link (a
// veth's removal takes the container's eth0 with it).
func (l *Lab) Release(e *Endpoint) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	for i, x := range l.endpoints {
		if x == e {
			l.endpoints = append(l.endpoints[:i], l.endpoints[i+1:]...)
			break
		}
	}
	if e.Link != "" {
		link := e.Link
		if err := l.do(func() error {
			lk, err := netlink.LinkByName(link)
			if err != nil {
				return nil // gone already (the container's namespace went first)
			}
			return netlink.LinkDel(lk)
		}); err != nil {
			return fmt.Errorf("remove %s: %w", link, err)
		}
	}
	return l.ipam.release(e.ID)
}

// joinBridge puts a link of the lab namespace on the bridge and up. It runs
// in the lab namespace.
func joinBridge(name string) error {
	br, err := netlink.LinkByName(BridgeName)
	if err != nil {
		return fmt.Errorf("find bridge: %w", err)
	}
	link, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	if err := netlink.LinkSetMaster(link, br); err != nil {
		return fmt.Errorf("put %s on %s: %w", name, BridgeName, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}

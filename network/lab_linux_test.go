package network

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/twinboot/twinboot/internal/testutil"
)

// Two containers on one lab network: each gets an address from the subnet,
// the lab host reaches both, and they reach each other, over TCP.
func TestContainersReachEachOther(t *testing.T) {
	needRoot(t)
	l := newLab(t, Config{})
	var eps []*Endpoint
	var pids []int
	for _, name := range []string{"ct-a", "ct-b"} {
		e, err := l.Reserve(KindContainer, name, name)
		if err != nil {
			t.Fatal(err)
		}
		pid := sleeper(t)
		if err := l.AttachContainer(e, pid); err != nil {
			t.Fatal(err)
		}
		if !l.Subnet().Contains(e.IP()) || e.IP().Equal(l.HostIP()) {
			t.Fatalf("%s got %s: not a free address of %s", name, e.IP(), l.Subnet())
		}
		eps, pids = append(eps, e), append(pids, pid)
	}
	if eps[0].IP().Equal(eps[1].IP()) {
		t.Fatalf("both containers got %s", eps[0].IP())
	}
	// eth0 inside the container holds the address.
	err := ns.WithNetNSPath(netnsOf(pids[0]), func(ns.NetNS) error {
		link, err := netlink.LinkByName(IfName)
		if err != nil {
			return err
		}
		addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		if len(addrs) != 1 || !addrs[0].IP.Equal(eps[0].IP()) {
			t.Errorf("eth0 addresses %v, want %s", addrs, eps[0].IP())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	addrB := listenIn(t, netnsOf(pids[1]), eps[1].IP(), "hello from b")
	addrA := listenIn(t, netnsOf(pids[0]), eps[0].IP(), "hello from a")
	var labAddr string
	if err := l.Do(func() error {
		ln, err := net.Listen("tcp4", net.JoinHostPort(l.HostIP().String(), "0"))
		if err != nil {
			return err
		}
		t.Cleanup(func() { ln.Close() })
		labAddr = ln.Addr().String()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Write([]byte("hello from the lab host"))
				c.Close()
			}
		}()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ from, to, want string }{
		{l.Netns(), addrA, "hello from a"},
		{l.Netns(), addrB, "hello from b"},
		{netnsOf(pids[0]), addrB, "hello from b"},
		{netnsOf(pids[1]), addrA, "hello from a"},
		{netnsOf(pids[0]), labAddr, "hello from the lab host"},
	} {
		got, err := dialFrom(c.from, c.to)
		if err != nil || got != c.want {
			t.Errorf("from %s to %s: %q, %v (want %q)", c.from, c.to, got, err, c.want)
		}
	}
	// The host's namespace has no route to the lab: nothing leaks out.
	if _, err := dialFrom("/proc/self/ns/net", addrA); err == nil {
		t.Errorf("the host's namespace reached %s: the lab network is not private", addrA)
	}
}

// A VM's TAP is made in the lab namespace, on the bridge; the VM's ip=
// word carries its address, the mask and its hostname.
func TestAddTAP(t *testing.T) {
	needRoot(t)
	l := newLab(t, Config{})
	e, err := l.Reserve(KindVM, "vm-1", "twinboot-vm")
	if err != nil {
		t.Fatal(err)
	}
	tap, err := l.AddTAP(e)
	if err != nil {
		t.Fatal(err)
	}
	err = l.Do(func() error {
		link, err := netlink.LinkByName(tap)
		if err != nil {
			return err
		}
		br, err := netlink.LinkByName(BridgeName)
		if err != nil {
			return err
		}
		if _, ok := link.(*netlink.Tuntap); !ok {
			t.Errorf("%s is a %s, want a tuntap", tap, link.Type())
		}
		if link.Attrs().MasterIndex != br.Attrs().Index {
			t.Errorf("%s is not on %s", tap, BridgeName)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "ip=" + e.IP().String() + ":::255.255.255.0:twinboot-vm:eth0:off"
	if got := e.KernelIP(); got != want {
		t.Errorf("KernelIP = %q, want %q", got, want)
	}
	// It is not in the host's namespace.
	if _, err := netlink.LinkByName(tap); err == nil {
		t.Errorf("%s exists in the host's namespace", tap)
	}
}

// Everything a network made goes with Close: its namespace, its directory;
// the addresses are released; and the host's root namespace (links,
// addresses, routes) is the same before and after.
func TestCloseRemovesAllAndHostUnchanged(t *testing.T) {
	needRoot(t)
	before := testutil.NetSnapshot(t)
	l, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(StateRoot, l.Name())
	e, err := l.Reserve(KindContainer, "ct", "ct")
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	if err := l.AttachContainer(e, sleeper(t)); err != nil {
		l.Close()
		t.Fatal(err)
	}
	v, _ := l.Reserve(KindVM, "vm", "vm")
	if _, err := l.AddTAP(v); err != nil {
		l.Close()
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists after Close (%v)", dir, err)
	}
	if mounted(t, l.Netns()) {
		t.Errorf("the namespace is still bound on %s", l.Netns())
	}
	if after := testutil.NetSnapshot(t); !slices.Equal(before, after) {
		t.Errorf("the host's network namespace changed:\nbefore %q\nafter  %q", before, after)
	}
}

func mounted(t *testing.T, path string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), " "+path+" ")
}

// Two networks at once get separate subnets; an explicit subnet that
// overlaps a live one is refused with ErrOverlap, before anything is made.
func TestTwoNetworksSeparate(t *testing.T) {
	needRoot(t)
	a := newLab(t, Config{})
	b := newLab(t, Config{})
	if overlaps(a.Subnet(), b.Subnet()) {
		t.Fatalf("two networks share %s and %s", a.Subnet(), b.Subnet())
	}
	if a.Name() == b.Name() || a.Netns() == b.Netns() {
		t.Fatalf("two networks share a name or namespace: %s %s", a.Name(), b.Name())
	}
	_, err := New(Config{Subnet: a.Subnet().String()})
	if !errors.Is(err, ErrOverlap) || !strings.Contains(err.Error(), a.Name()) {
		t.Errorf("New on %s while %s has it: %v, want ErrOverlap naming it", a.Subnet(), a.Name(), err)
	}
}

// A subnet that overlaps a route of the host's namespace is refused.
func TestSubnetOverlapsHostRoute(t *testing.T) {
	needRoot(t)
	routes, err := hostRoutes()
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) == 0 {
		t.Skip("the host has no route but the default one")
	}
	_, err = New(Config{Subnet: routes[0].String()})
	if !errors.Is(err, ErrOverlap) || !strings.Contains(err.Error(), "host route") {
		t.Errorf("New on the host route %s: %v, want ErrOverlap", routes[0], err)
	}
}

func TestParseSubnet(t *testing.T) {
	for _, s := range []string{"", "10.88.0.0", "10.88.0.1/24", "fd00::/64", "10.88.0.0/30", "10.0.0.0/7", "bogus/24"} {
		if _, err := ParseSubnet(s); !errors.Is(err, ErrBadSubnet) {
			t.Errorf("ParseSubnet(%q) = %v, want ErrBadSubnet", s, err)
		}
	}
	n, err := ParseSubnet("192.168.77.0/28")
	if err != nil || n.String() != "192.168.77.0/28" || !hostAddr(n).Equal(net.IPv4(192, 168, 77, 1)) {
		t.Errorf("ParseSubnet(192.168.77.0/28) = %v, %v", n, err)
	}
}

// A small subnet runs out of addresses with ErrFull, and a released
// address is handed out again.
func TestAddressesReleased(t *testing.T) {
	needRoot(t)
	l := newLab(t, Config{Subnet: "10.89.250.0/29"}) // .1 lab host, .2-.6 free
	var eps []*Endpoint
	for i := 0; ; i++ {
		e, err := l.Reserve(KindContainer, "c"+string(rune('a'+i)), "c"+string(rune('a'+i)))
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, e)
	}
	if len(eps) != 5 {
		t.Fatalf("a /29 gave %d addresses, want 5", len(eps))
	}
	freed := eps[2].IP()
	if err := l.Release(eps[2]); err != nil {
		t.Fatal(err)
	}
	e, err := l.Reserve(KindContainer, "again", "again")
	if err != nil || !e.IP().Equal(freed) {
		t.Errorf("after release: %v, %v; want %s again", e, err, freed)
	}
}

// A container that shares twinboot's own namespace is refused: the lab
// never puts a veth into the host's namespace.
func TestAttachRefusesHostNamespace(t *testing.T) {
	needRoot(t)
	l := newLab(t, Config{})
	e, err := l.Reserve(KindContainer, "ct", "ct")
	if err != nil {
		t.Fatal(err)
	}
	before := testutil.NetSnapshot(t)
	if err := l.AttachContainer(e, os.Getpid()); err == nil || !strings.Contains(err.Error(), "own network namespace") {
		t.Errorf("AttachContainer(self) = %v, want a refusal", err)
	}
	if after := testutil.NetSnapshot(t); !slices.Equal(before, after) {
		t.Errorf("the host's namespace changed")
	}
}

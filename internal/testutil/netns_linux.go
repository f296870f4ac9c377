package testutil

import (
	"fmt"
	"sort"
	"testing"

	"github.com/vishvananda/netlink"
)

// NetSnapshot is what a network namespace holds: its links, addresses and
// routes, as text, sorted: the calling thread's, which is twinboot's own
// (the host's) outside a namespace switch. Tests that create networks
// compare it before and after to prove the host's namespace untouched.
func NetSnapshot(t testing.TB) []string {
	t.Helper()
	var out []string
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatalf("list links: %v", err)
	}
	for _, l := range links {
		a := l.Attrs()
		out = append(out, fmt.Sprintf("link %d %s %s master=%d flags=%v", a.Index, a.Name, l.Type(), a.MasterIndex, a.Flags))
		addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			t.Fatalf("list addresses of %s: %v", a.Name, err)
		}
		for _, ad := range addrs {
			out = append(out, fmt.Sprintf("addr %s %s", a.Name, ad.IPNet))
		}
	}
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: 0}, 0)
	if err != nil {
		t.Fatalf("list routes: %v", err)
	}
	for _, r := range routes {
		out = append(out, fmt.Sprintf("route %v dev=%d gw=%v src=%v table=%d proto=%d", r.Dst, r.LinkIndex, r.Gw, r.Src, r.Table, r.Protocol))
	}
	sort.Strings(out)
	return out
}

package network

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
)

// hostRoutes reads the IPv4 routes of the namespace twinboot runs in (its
// /proc/net/route; read only, never changed), without the default route,
// which overlaps everything and says nothing.
func hostRoutes() ([]*net.IPNet, error) {
	f, err := os.Open("/proc/thread-self/net/route")
	if err != nil {
		return nil, fmt.Errorf("read host routes: %w", err)
	}
	defer f.Close()
	var out []*net.IPNet
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 8 {
			continue
		}
		dst, err1 := hex.DecodeString(fl[1])
		mask, err2 := hex.DecodeString(fl[7])
		if err1 != nil || err2 != nil || len(dst) != 4 || len(mask) != 4 {
			continue
		}
		// The kernel prints them in host byte order (little-endian here).
		d := make(net.IP, 4)
		m := make(net.IPMask, 4)
		binary.BigEndian.PutUint32(d, binary.LittleEndian.Uint32(dst))
		binary.BigEndian.PutUint32(m, binary.LittleEndian.Uint32(mask))
		if ones, _ := m.Size(); ones == 0 {
			continue
		}
		out = append(out, &net.IPNet{IP: d, Mask: m})
	}
	return out, sc.Err()
}

// conflict says what n overlaps: a host route or a live twinboot network
// (recs), or "" when it is free.
func conflict(n *net.IPNet, routes []*net.IPNet, recs []record) string {
	for _, r := range routes {
		if overlaps(n, r) {
			return "the host route " + r.String()
		}
	}
	for _, r := range recs {
		if !r.live() || r.Subnet == "" {
			continue
		}
		if _, o, err := net.ParseCIDR(r.Subnet); err == nil && overlaps(n, o) {
			return "twinboot network " + r.Name + " (" + r.Subnet + ")"
		}
	}
	return ""
}

// pickSubnet returns the subnet to use. An explicit one that overlaps is an
// error; the default moves up /24 by /24 (10.88.0.0, 10.88.1.0, ...) to the
// first free one, so that runs at once get separate networks.
func pickSubnet(explicit string, recs []record) (*net.IPNet, error) {
	routes, err := hostRoutes()
	if err != nil {
		return nil, err
	}
	if explicit != "" {
		n, err := ParseSubnet(explicit)
		if err != nil {
			return nil, err
		}
		if c := conflict(n, routes, recs); c != "" {
			return nil, fmt.Errorf("%s: %w %s; pick another with --subnet", n, ErrOverlap, c)
		}
		return n, nil
	}
	n, _ := ParseSubnet(DefaultSubnet)
	first := n.String()
	for i := 0; i < 256; i++ {
		if conflict(n, routes, recs) == "" {
			return n, nil
		}
		n.IP = append(net.IP(nil), n.IP...)
		n.IP[2]++
	}
	return nil, fmt.Errorf("%w: every /24 from %s up is taken; pick a subnet with --subnet", ErrOverlap, first)
}

package network

import (
	"errors"
	"fmt"
	"net"
)

// DefaultSubnet is the lab subnet unless --subnet says otherwise. It is a
// private range that container engines also use for their own bridges
// (podman's default is 10.88.0.0/16), which is why an overlap with a host
// route is checked, not assumed away. When it is taken by another
// twinboot network, the next free /24 above it is used.
const DefaultSubnet = "10.88.0.0/24"

// BridgeName is the bridge in the lab namespace. The namespace is the
// run's own, so the name never meets another run's.
const BridgeName = "tb0"

// LabHostName is the lab host's name in /etc/hosts: the bridge address,
// where the lab host's probes and benchmarks run from.
const LabHostName = "labhost"

// Errors a caller can test for with errors.Is.
var (
	ErrBadSubnet = errors.New("bad lab subnet")
	ErrOverlap   = errors.New("lab subnet overlaps")
	ErrNoModule  = errors.New("kernel module missing")
	ErrNotRoot   = errors.New("the lab network needs root (run as root or with sudo)")
	ErrFull      = errors.New("lab subnet has no free address")
	ErrClosed    = errors.New("lab network already closed")
)

// Config says what lab network to build.
type Config struct {
	// Subnet is an IPv4 CIDR, e.g. 10.88.0.0/24. Empty: DefaultSubnet, or
	// the next free /24 above it when another twinboot network has it.
	Subnet string
}

// ParseSubnet checks a lab subnet: IPv4, the network address itself (no
// host bits), room for the lab host and at least two more addresses.
func ParseSubnet(s string) (*net.IPNet, error) {
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		return nil, fmt.Errorf("%w %q: not an address/prefix (e.g. %s)", ErrBadSubnet, s, DefaultSubnet)
	}
	if ip.To4() == nil {
		return nil, fmt.Errorf("%w %q: the lab network is IPv4 only", ErrBadSubnet, s)
	}
	if !ip.Equal(n.IP) {
		return nil, fmt.Errorf("%w %q: host bits set (the network address is %s)", ErrBadSubnet, s, n)
	}
	if ones, _ := n.Mask.Size(); ones > 29 || ones < 8 {
		return nil, fmt.Errorf("%w %q: prefix /%d (want /8 to /29)", ErrBadSubnet, s, ones)
	}
	n.IP = n.IP.To4()
	return n, nil
}

// CheckConfig checks the config alone, before any slow work.
func CheckConfig(c Config) error {
	if c.Subnet == "" {
		return nil
	}
	_, err := ParseSubnet(c.Subnet)
	return err
}

// overlaps reports whether two networks share an address.
func overlaps(a, b *net.IPNet) bool {
	return a.Contains(b.IP) || b.Contains(a.IP)
}

// hostAddr is the subnet's first address: the lab host, on the bridge.
func hostAddr(n *net.IPNet) net.IP {
	ip := append(net.IP(nil), n.IP.To4()...)
	ip[3]++
	return ip
}

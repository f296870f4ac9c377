package report

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// The lab network's part of the contract (see network/ on the host and
// guest/netprobe): a probe in serve mode answers its report over HTTP on
// ServePort; given a peer, it measures round trips and throughput to it;
// in a VM it writes /etc/hosts from twinboot.hosts=.
const (
	// ModeServe: after READY, serve the report over HTTP on ServePort
	// until stopped (guest/netprobe).
	ModeServe = "serve"
	// ServePort is where a serving probe listens, on every address.
	ServePort = 8080

	// SettingHosts (twinboot.hosts=name=ip,name=ip): the names of the lab
	// network, which the probe in a VM writes to /etc/hosts. A container
	// gets its /etc/hosts from the runtime instead.
	SettingHosts = "hosts"
	ParamHosts   = ParamPrefix + SettingHosts
	// SettingPeer (--peer HOST:PORT[,PINGS,BYTES], twinboot.peer=): after
	// READY, measure PINGS round trips and one TCP stream of BYTES to a
	// serving probe there and print a TWINBOOT-NETBENCH line (PeerValue).
	SettingPeer = "peer"
	ParamPeer   = ParamPrefix + SettingPeer

	// DefaultPeerPings and DefaultPeerBytes: enough round trips for a
	// median and a p99, and a stream long enough to leave TCP's slow start.
	DefaultPeerPings = 200
	DefaultPeerBytes = 32 << 20
)

// PeerValue is the --peer / twinboot.peer= value.
func PeerValue(addr string, pings int, bytes int64) string {
	return fmt.Sprintf("%s,%d,%d", addr, pings, bytes)
}

// ParsePeer reads a --peer / twinboot.peer= value; a bare HOST:PORT takes
// the default sizes.
func ParsePeer(v string) (addr string, pings int, bytes int64, err error) {
	f := strings.Split(v, ",")
	addr, pings, bytes = f[0], DefaultPeerPings, DefaultPeerBytes
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", 0, 0, fmt.Errorf("peer %q: %v", v, err)
	}
	switch len(f) {
	case 1:
		return addr, pings, bytes, nil
	case 3:
		p, err1 := strconv.Atoi(f[1])
		b, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || p < 0 || b < 0 {
			return "", 0, 0, fmt.Errorf("peer %q: want HOST:PORT,PINGS,BYTES", v)
		}
		return addr, p, b, nil
	}
	return "", 0, 0, fmt.Errorf("peer %q: want HOST:PORT or HOST:PORT,PINGS,BYTES", v)
}

// Host is one name of the lab network.
type Host struct {
	Name string `json:"name"`
	IP   string `json:"ip"`
}

// HostsValue is the twinboot.hosts= value for hs: name=ip,name=ip.
func HostsValue(hs []Host) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = h.Name + "=" + h.IP
	}
	return strings.Join(parts, ",")
}

// ParseHosts reads a twinboot.hosts= value.
func ParseHosts(v string) ([]Host, error) {
	var hs []Host
	for _, p := range strings.Split(v, ",") {
		if p == "" {
			continue
		}
		name, ip, ok := strings.Cut(p, "=")
		if !ok || name == "" || net.ParseIP(ip) == nil {
			return nil, fmt.Errorf("twinboot.hosts: %q is not name=ip", p)
		}
		hs = append(hs, Host{name, ip})
	}
	return hs, nil
}

// HostsFile is the /etc/hosts every side of the lab network gets:
// localhost, then every name.
func HostsFile(hs []Host) string {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n")
	for _, h := range hs {
		fmt.Fprintf(&b, "%s\t%s\n", h.IP, h.Name)
	}
	return b.String()
}

// NetBenchPrefix starts the line a probe prints after measuring a peer.
const NetBenchPrefix = "TWINBOOT-NETBENCH "

// NetBench is what one side measured to a serving probe: request/response
// round trips over one kept-alive TCP connection (HTTP GET /ping), and one
// TCP stream of StreamBytes (GET /bytes), on the measuring side's clock.
type NetBench struct {
	Peer        string  `json:"peer"`
	RoundTrips  int     `json:"round_trips"`
	RTTP50us    float64 `json:"rtt_p50_us"`
	RTTP99us    float64 `json:"rtt_p99_us"`
	RTTMeanus   float64 `json:"rtt_mean_us"`
	StreamBytes int64   `json:"stream_bytes"`
	StreamMBps  float64 `json:"stream_mb_s"`
	Error       string  `json:"error,omitempty"`
}

// ParseNetBench extracts a NetBench from one output line.
func ParseNetBench(line string) (NetBench, bool) { return parseLine[NetBench](line, NetBenchPrefix) }

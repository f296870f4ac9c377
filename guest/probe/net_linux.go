package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/twinboot/twinboot/guest/netprobe"
	"github.com/twinboot/twinboot/guest/report"
)

// writeHosts writes /etc/hosts from a twinboot.hosts= value: in a VM, the
// names of the lab network arrive on the kernel command line.
func writeHosts(v string) error {
	hs, err := report.ParseHosts(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll("/etc", 0o755); err != nil {
		return err
	}
	return os.WriteFile("/etc/hosts", []byte(report.HostsFile(hs)), 0o644)
}

// serve answers the report over HTTP on every address until the probe is
// stopped (the VM or the container ended by the host); with a peer, it
// measures it once it is serving.
func serve(r report.Report, peer string) int {
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(report.ServePort))
	if err != nil {
		fmt.Fprintf(os.Stderr, "probe: serve: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "probe: serving the report on :%d\n", report.ServePort)
	errc := make(chan error, 1)
	go func() { errc <- netprobe.Serve(ln, r) }()
	if peer != "" {
		measurePeer(peer)
	}
	fmt.Fprintf(os.Stderr, "probe: serve: %v\n", <-errc)
	return 1
}

// Peer measurement sizes: enough round trips for a median and a p99, and
// a stream long enough to leave TCP's slow start.
const (
	peerPings  = 200
	peerStream = 32 << 20
)

// measurePeer measures round trips and one TCP stream to a serving probe
// and prints a TWINBOOT-NETBENCH line. The peer may still be starting: it
// is retried for a while.
func measurePeer(peer string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := &netprobe.Client{Addr: peer}
	defer c.Close()
	for ctx.Err() == nil {
		if _, err := c.Ping(ctx); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	b := c.Measure(ctx, peerPings, peerStream)
	line, _ := json.Marshal(b)
	os.Stdout.WriteString(report.NetBenchPrefix + string(line) + "\n")
}

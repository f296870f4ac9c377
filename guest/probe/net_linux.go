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

// measurePeer measures round trips and one TCP stream to a serving probe
// and prints a TWINBOOT-NETBENCH line. The peer may still be starting: it
// is retried for up to a minute.
func measurePeer(peer string) {
	addr, pings, bytes, err := report.ParsePeer(peer)
	if err != nil {
		line, _ := json.Marshal(report.NetBench{Peer: peer, Error: err.Error()})
		os.Stdout.WriteString(report.NetBenchPrefix + string(line) + "\n")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := &netprobe.Client{Addr: addr}
	defer c.Close()
	wait, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	for wait.Err() == nil {
		if _, err := c.Ping(wait); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	b := c.Measure(ctx, pings, bytes)
	line, _ := json.Marshal(b)
	os.Stdout.WriteString(report.NetBenchPrefix + string(line) + "\n")
}

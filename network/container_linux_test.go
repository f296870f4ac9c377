package network

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/guest/netprobe"
	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/internal/testutil"
)

// The real container runtime with the lab's probe in serve mode, on the
// lab network: the lab host fetches its report over HTTP, and the report
// shows the container's hostname and eth0 with the address the network
// gave it; the container's /etc/hosts names the lab host.
func TestContainerServesOnLabNetwork(t *testing.T) {
	needRoot(t)
	rootfs := testutil.Guest(t).Rootfs
	l := newLab(t, Config{})
	e, err := l.Reserve(KindContainer, "ct-web", "ct-web")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out testutil.Screen
	done := make(chan error, 1)
	var hosts string
	attach := l.ContainerAttach(e)
	go func() {
		_, err := container.Run(ctx, container.Spec{
			Rootfs: rootfs, Args: report.Args(report.ModeServe, 0), Hostname: "ct-web",
			Stdout: &out, Stderr: &out, Timeout: 60 * time.Second,
			Attach: func(pid int) error {
				if err := attach(pid); err != nil {
					return err
				}
				b, err := readInRoot(pid, "etc/hosts")
				hosts = b
				return err
			},
		})
		done <- err
	}()
	c := l.Probe(e.IP())
	defer c.Close()
	var rep report.Report
	for {
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		rep, err = c.Report(rctx)
		rcancel()
		if err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the container ended before it served: %v\n%s", err, out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if rep.Hostname != "ct-web" {
		t.Errorf("served hostname %q, want ct-web", rep.Hostname)
	}
	if !hasAddr(rep, IfName, e.Addr.String()) {
		t.Errorf("served NICs %+v, want %s on %s", rep.NICs, e.Addr.String(), IfName)
	}
	if !strings.Contains(hosts, l.HostIP().String()+"\t"+LabHostName) || !strings.Contains(hosts, e.IP().String()+"\tct-web") {
		t.Errorf("the container's /etc/hosts:\n%s", hosts)
	}
	cancel()
	<-done
}

// The probe as a client in the container: it finds the lab host by name
// (its /etc/hosts), measures round trips and a stream to the lab host's
// serving probe, and prints a TWINBOOT-NETBENCH line without error.
func TestContainerMeasuresLabHostByName(t *testing.T) {
	needRoot(t)
	rootfs := testutil.Guest(t).Rootfs
	l := newLab(t, Config{})
	var ln net.Listener
	if err := l.Do(func() error {
		var err error
		ln, err = net.Listen("tcp4", net.JoinHostPort(l.HostIP().String(), strconv.Itoa(report.ServePort)))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go netprobe.Serve(ln, report.Report{Hostname: LabHostName})
	e, err := l.Reserve(KindContainer, "ct-client", "ct-client")
	if err != nil {
		t.Fatal(err)
	}
	var out testutil.Screen
	args := append(report.Args(report.ModeExit, 0), "--"+report.SettingPeer, LabHostName+":"+strconv.Itoa(report.ServePort))
	res, err := container.Run(context.Background(), container.Spec{
		Rootfs: rootfs, Args: args, Hostname: "ct-client", Stdout: &out, Stderr: &out,
		Timeout: 90 * time.Second, Attach: l.ContainerAttach(e),
	})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("container: %+v, %v\n%s", res, err, out.String())
	}
	var nb report.NetBench
	var found bool
	for _, line := range strings.Split(out.String(), "\n") {
		if nb, found = report.ParseNetBench(line); found {
			break
		}
	}
	if !found || nb.Error != "" || nb.RoundTrips == 0 || nb.StreamBytes == 0 {
		t.Fatalf("no good NETBENCH line (%+v):\n%s", nb, out.String())
	}
	if res.Report == nil || !hasAddr(*res.Report, IfName, e.Addr.String()) {
		t.Errorf("the READY report does not show %s on eth0: %+v", e.Addr.String(), res.Report)
	}
}

func hasAddr(r report.Report, ifname, addr string) bool {
	for _, n := range r.NICs {
		if n.Name == ifname {
			for _, a := range n.Addrs {
				if a == addr {
					return n.Up
				}
			}
		}
	}
	return false
}

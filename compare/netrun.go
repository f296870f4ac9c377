package compare

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/hypervisor/vmm"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/network"
)

// The lab network experiment (`twinboot run --net`): both sides on one lab
// network at once, each serving its report (report.ModeServe) and
// measuring the other, while the lab host measures both.

// Path names of the reachability matrix.
const (
	NodeLabHost   = "lab-host"
	NodeVM        = "vm"
	NodeContainer = "container"
)

// NetOptions shape one lab network run.
type NetOptions struct {
	Options
	Net network.Config
	// Pings and StreamBytes size each path's measurement (defaults
	// report.DefaultPeerPings and DefaultPeerBytes).
	Pings       int
	StreamBytes int64
}

// NetSide is one side's place on the network.
type NetSide struct {
	Side     string `json:"side"` // vm or container
	Hostname string `json:"hostname"`
	Addr     string `json:"addr"` // CIDR
	Link     string `json:"link"` // the lab-side TAP or veth
	// Seen is what the side's own report says: its hostname and eth0's
	// addresses, as the lab host fetched them over the network.
	SeenHostname string   `json:"seen_hostname,omitempty"`
	SeenAddrs    []string `json:"seen_addrs,omitempty"`
}

// NetPath is one arrow of the reachability matrix, measured at From.
type NetPath struct {
	From string `json:"from"`
	To   string `json:"to"`
	OK   bool   `json:"ok"`
	report.NetBench
}

// NetSchema names the lab network's documents (NetResults, NetBenchResults;
// docs/results-schema.md).
const NetSchema = "twinboot-net/v1"

// NetResults is what one lab network run found.
type NetResults struct {
	Schema   string    `json:"schema"`  // NetSchema
	Command  string    `json:"command"` // "run --net"
	Network  string    `json:"network"`
	Subnet   string    `json:"subnet"`
	LabHost  string    `json:"lab_host"`
	Emulated bool      `json:"emulated"`
	Sides    []NetSide `json:"sides"`
	Paths    []NetPath `json:"paths"`
	// VMExits are the VM's exit counts over the whole run, by reason, and
	// VMNet its NIC's counters: with the frames moved, they say how many
	// exits a packet cost.
	VMExits map[string]uint64       `json:"vm_exits,omitempty"`
	VMNet   *hypervisor.DeviceStats `json:"vm_net,omitempty"`
}

// ErrPathFailed means some path of the matrix did not work; the results
// say which and why.
var ErrPathFailed = errors.New("a lab network path failed")

// RunNet boots the VM and the container on one lab network, both serving,
// and fills the reachability matrix: lab host → VM, lab host → container
// (measured by the lab host), VM → container and container → VM (measured
// by each probe and printed as a TWINBOOT-NETBENCH line). Both sides are
// stopped and the network removed before it returns; its last event is
// NetDone with the results, whenever a network was built.
func RunNet(ctx context.Context, o NetOptions, sink event.Sink) (NetResults, error) {
	res, err := runNet(ctx, o, sink)
	if res.Network != "" {
		sink.Emit(NetDone{Results: res})
	}
	return res, err
}

func runNet(ctx context.Context, o NetOptions, sink event.Sink) (NetResults, error) {
	o.Options = o.Options.withDefaults()
	if o.Pings <= 0 {
		o.Pings = report.DefaultPeerPings
	}
	if o.StreamBytes <= 0 {
		o.StreamBytes = report.DefaultPeerBytes
	}
	res := NetResults{Schema: NetSchema, Command: "run --net", Emulated: o.Emulated}
	l, err := network.New(o.Net)
	if err != nil {
		return res, err
	}
	defer l.Close()
	res.Network, res.Subnet, res.LabHost = l.Name(), l.Subnet().String(), l.HostIP().String()
	vmEp, err := l.Reserve(network.KindVM, "vm", VMHostname)
	if err != nil {
		return res, err
	}
	ctEp, err := l.Reserve(network.KindContainer, "ct", ContainerHostname)
	if err != nil {
		return res, err
	}
	port := strconv.Itoa(report.ServePort)
	vmPeer := report.PeerValue(net.JoinHostPort(VMHostname, port), o.Pings, o.StreamBytes)
	ctPeer := report.PeerValue(net.JoinHostPort(ContainerHostname, port), o.Pings, o.StreamBytes)

	cfg := hypervisor.Config{
		Kernel: o.Kernel, Initrd: o.Initrd, MemBytes: o.VMMemBytes, CPUs: o.VMCPUs,
		Cmdline:  report.Cmdline(hypervisor.DefaultCmdline, report.ModeServe, 0) + " " + report.ParamPeer + "=" + ctPeer,
		Events:   sink,
		Emulated: o.Emulated, ID: "vm",
	}
	if err := attachVM(l, vmEp, &cfg); err != nil {
		return res, err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait() // after stop (defers run last-in first-out)
	defer stop()

	benches := make(chan NetPath, 2)
	vmOut := lineSink(func(line string) {
		if b, ok := report.ParseNetBench(line); ok {
			benches <- NetPath{From: NodeVM, To: NodeContainer, OK: b.Error == "", NetBench: b}
		}
	})
	cfg.Console = vmOut
	var vmRes hypervisor.Result
	var vmErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		vmRes, vmErr = vmm.Run(runCtx, cfg)
		vmOut.Close()
	}()
	ctOut := lineSink(func(line string) {
		if b, ok := report.ParseNetBench(line); ok {
			benches <- NetPath{From: NodeContainer, To: NodeVM, OK: b.Error == "", NetBench: b}
		}
	})
	var ctErr error
	go func() {
		defer wg.Done()
		_, ctErr = container.Run(runCtx, container.Spec{
			Rootfs: o.Guest.Rootfs, Hostname: ContainerHostname,
			Args:   append(report.Args(report.ModeServe, 0), "--"+report.SettingPeer, vmPeer),
			Stdout: ctOut, Stderr: io.Discard, Events: sink,
			Attach: l.ContainerAttach(ctEp),
		})
		ctOut.Close()
	}()

	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	deadline := time.Now().Add(timeout)
	for _, s := range []struct {
		node string
		ep   *network.Endpoint
	}{{NodeVM, vmEp}, {NodeContainer, ctEp}} {
		side := NetSide{Side: s.node, Hostname: s.ep.Hostname, Addr: s.ep.Addr.String(), Link: s.ep.Link}
		p := NetPath{From: NodeLabHost, To: s.node}
		c := l.Probe(s.ep.IP())
		rep, err := waitReport(runCtx, c, deadline)
		if err == nil {
			side.SeenHostname = rep.Hostname
			for _, n := range rep.NICs {
				if n.Name == network.IfName {
					side.SeenAddrs = n.Addrs
				}
			}
			mctx, cancel := context.WithDeadline(runCtx, deadline)
			p.NetBench = c.Measure(mctx, o.Pings, o.StreamBytes)
			cancel()
			p.OK = p.Error == ""
		} else {
			p.Peer, p.Error = c.Addr, err.Error()
		}
		c.Close()
		sink.Emit(event.Log{Msg: fmt.Sprintf("lab network: %s → %s: %s", p.From, p.To, pathSummary(p))})
		res.Sides = append(res.Sides, side)
		res.Paths = append(res.Paths, p)
	}
	for got := 0; got < 2; got++ {
		select {
		case p := <-benches:
			sink.Emit(event.Log{Msg: fmt.Sprintf("lab network: %s → %s: %s", p.From, p.To, pathSummary(p))})
			res.Paths = append(res.Paths, p)
		case <-time.After(time.Until(deadline)):
			got = 2
		case <-ctx.Done():
			got = 2
		}
	}
	for _, want := range [][2]string{{NodeVM, NodeContainer}, {NodeContainer, NodeVM}} {
		if !hasPath(res.Paths, want[0], want[1]) {
			res.Paths = append(res.Paths, NetPath{From: want[0], To: want[1],
				NetBench: report.NetBench{Error: "no TWINBOOT-NETBENCH line from " + want[0] + " before the deadline"}})
		}
	}
	stop()
	wg.Wait()
	res.VMExits = vmRes.Exits
	for i := range vmRes.Devices {
		if vmRes.Devices[i].Kind == "virtio-net" {
			res.VMNet = &vmRes.Devices[i]
		}
	}
	var failed []string
	for _, p := range res.Paths {
		if !p.OK {
			failed = append(failed, p.From+" → "+p.To+": "+p.Error)
		}
	}
	if len(failed) > 0 {
		return res, fmt.Errorf("%w: %v (vm: %v; container: %v)", ErrPathFailed, failed, errOrNone(vmErr), errOrNone(ctErr))
	}
	return res, nil
}

func errOrNone(err error) string {
	if err == nil || errors.Is(err, context.Canceled) {
		return "stopped"
	}
	return err.Error()
}

func hasPath(ps []NetPath, from, to string) bool {
	for _, p := range ps {
		if p.From == from && p.To == to {
			return true
		}
	}
	return false
}

func pathSummary(p NetPath) string {
	if !p.OK {
		return "FAILED: " + p.Error
	}
	return fmt.Sprintf("ok, round trip p50 %.0f µs, stream %.1f MB/s", p.RTTP50us, p.StreamMBps)
}

// waitReport asks the serving probe for its report until it answers or
// the deadline passes: the side may still be booting.
func waitReport(ctx context.Context, c interface {
	Report(context.Context) (report.Report, error)
}, deadline time.Time) (report.Report, error) {
	var last error
	for time.Now().Before(deadline) {
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		r, err := c.Report(rctx)
		cancel()
		if err == nil {
			return r, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return report.Report{}, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return report.Report{}, fmt.Errorf("no answer before the deadline: %v", last)
}

// lineWriter calls fn with each complete line written to it.
type lineWriter struct {
	pw *io.PipeWriter
}

func lineSink(fn func(string)) *lineWriter {
	pr, pw := io.Pipe()
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fn(sc.Text())
		}
		io.Copy(io.Discard, pr)
	}()
	return &lineWriter{pw: pw}
}

func (w *lineWriter) Write(p []byte) (int, error) { return w.pw.Write(p) }
func (w *lineWriter) Close() error                { return w.pw.Close() }

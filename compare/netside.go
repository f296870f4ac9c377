package compare

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/hypervisor/vmm"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/network"
)

// Hostnames of the two sides on a lab network.
const (
	VMHostname        = "twinboot-vm"
	ContainerHostname = "twinboot-ct"
)

// NetInfo is a lab network as one side saw it: the network, the lab host
// and this side's address and name. It is what `ct run --net` and
// `vm --net` print, and what results record.
type NetInfo struct {
	Network  string `json:"network"`
	Subnet   string `json:"subnet"`
	LabHost  string `json:"lab_host"`
	Hostname string `json:"hostname"`
	Addr     string `json:"addr"`
	Link     string `json:"link,omitempty"`
}

func netInfo(l *network.Lab, e *network.Endpoint) NetInfo {
	return NetInfo{Network: l.Name(), Subnet: l.Subnet().String(), LabHost: l.HostIP().String(),
		Hostname: e.Hostname, Addr: e.Addr.String(), Link: e.Link}
}

// String is the one line a command prints about the network.
func (n NetInfo) String() string {
	return fmt.Sprintf("lab network %s (%s): %s %s, %s %s", n.Network, n.Subnet, network.LabHostName, n.LabHost, n.Hostname, n.Addr)
}

// OnNet says how one side goes on a lab network of its own.
type OnNet struct {
	Net network.Config
	// Peer, when set, also puts the other side on the network, serving
	// its report (report.ModeServe), for as long as this side runs: a shell
	// on this side reaches it by name (`ping twinboot-vm`, `wget -O-
	// http://twinboot-ct:8080/`). Its Options say what to boot.
	Peer *Options
	// Told, when set, is told the network once this side is on it.
	Told func(NetInfo)
}

// ContainerOnNet runs one container on a lab network of its own (`ct run
// --net`): the network is built, the container gets an address, a veth
// and /etc/hosts before its workload starts, and the network is removed
// when the container has ended. It works natively on any host: no VM, no
// KVM (unless on.Peer asks for a serving VM beside it).
func ContainerOnNet(ctx context.Context, s container.Spec, on OnNet) (container.Result, error) {
	l, err := network.New(on.Net)
	if err != nil {
		return container.Result{}, err
	}
	defer l.Close()
	if s.Hostname == "" {
		s.Hostname = container.DefaultHostname
	}
	s.CapAdd = withNetRaw(s.CapAdd)
	e, err := l.Reserve(network.KindContainer, "ct-"+s.Hostname, s.Hostname)
	if err != nil {
		return container.Result{}, err
	}
	if on.Peer != nil {
		stop, err := serveVM(ctx, l, on.Peer.withDefaults(), nil)
		if err != nil {
			return container.Result{}, err
		}
		defer stop()
	}
	attach := l.ContainerAttach(e)
	s.Attach = func(pid int) error {
		if err := attach(pid); err != nil {
			return err
		}
		if on.Told != nil {
			on.Told(netInfo(l, e))
		}
		return nil
	}
	return container.Run(ctx, s)
}

// withNetRaw gives a container on the lab network CAP_NET_RAW, as
// Docker's default capabilities do (runc's do not): busybox 1.35's ping
// (Debian 12) opens only raw ICMP sockets and has no fallback to the ICMP
// datagram sockets that ping_group_range opens, so without it a student's
// `ping` fails with "permission denied (are you root?)". The capability
// counts only in the container's own network namespace.
func withNetRaw(caps []string) []string {
	for _, c := range caps {
		if strings.EqualFold(strings.TrimPrefix(strings.ToUpper(c), "CAP_"), "NET_RAW") {
			return caps
		}
	}
	return append(caps, "NET_RAW")
}

// VMOnNet boots one VM on a lab network of its own (`vm --net`): a TAP in
// the lab namespace for eth0 (the VMM attaches to it from there), and the
// ip= and twinboot.hosts= words that give the guest its address, its
// hostname and its /etc/hosts. In nested mode it runs inside L1, which has
// the tun, bridge and veth modules.
func VMOnNet(ctx context.Context, cfg hypervisor.Config, hostname string, on OnNet) (hypervisor.Result, error) {
	if hostname == "" {
		hostname = VMHostname
	}
	l, err := network.New(on.Net)
	if err != nil {
		return hypervisor.Result{}, err
	}
	defer l.Close()
	id := cfg.ID
	if id == "" {
		id = "vm-" + hostname
	}
	e, err := l.Reserve(network.KindVM, id, hostname)
	if err != nil {
		return hypervisor.Result{}, err
	}
	if on.Peer != nil {
		// Reserved before this VM's command line is written, so that its
		// /etc/hosts names the container.
		stop, err := serveContainer(ctx, l, on.Peer.withDefaults())
		if err != nil {
			return hypervisor.Result{}, err
		}
		defer stop()
	}
	if err := attachVM(l, e, &cfg); err != nil {
		return hypervisor.Result{}, err
	}
	if on.Told != nil {
		on.Told(netInfo(l, e))
	}
	return vmm.Run(ctx, cfg)
}

// serveVM boots the lab VM on l in serve mode, in the background, and
// returns the function that stops it and waits for its end. sink, when
// set, gets its events.
func serveVM(ctx context.Context, l *network.Lab, o Options, sink event.Sink) (stop func(), err error) {
	_, cfg, err := servingVM(l, o, "peer-vm", sink)
	if err != nil {
		return nil, err
	}
	return background(ctx, func(ctx context.Context) { vmm.Run(ctx, cfg) }), nil
}

// servingVM reserves endpoint id on l for the lab VM and returns its
// config in serve mode, its NIC attached there.
func servingVM(l *network.Lab, o Options, id string, sink event.Sink) (*network.Endpoint, hypervisor.Config, error) {
	e, err := l.Reserve(network.KindVM, id, VMHostname)
	if err != nil {
		return nil, hypervisor.Config{}, err
	}
	cfg := hypervisor.Config{
		Kernel: o.Kernel, Initrd: o.Initrd, MemBytes: o.VMMemBytes, CPUs: o.VMCPUs,
		Cmdline: report.Cmdline(hypervisor.DefaultCmdline, report.ModeServe, 0),
		Events:  sink, Emulated: o.Emulated, ID: id,
	}
	if err := attachVM(l, e, &cfg); err != nil {
		return nil, hypervisor.Config{}, err
	}
	return e, cfg, nil
}

// serveContainer starts the lab's container on l in serve mode, in the
// background; the attach happens when it starts, so the hosts file it gets
// names every endpoint reserved by then.
func serveContainer(ctx context.Context, l *network.Lab, o Options) (stop func(), err error) {
	e, err := l.Reserve(network.KindContainer, "peer-ct", ContainerHostname)
	if err != nil {
		return nil, err
	}
	spec := container.Spec{
		Rootfs: o.Guest.Rootfs, Hostname: ContainerHostname, Args: report.Args(report.ModeServe, 0),
		Stdout: io.Discard, Stderr: io.Discard, Attach: l.ContainerAttach(e), CapAdd: withNetRaw(nil),
	}
	return background(ctx, func(ctx context.Context) { container.Run(ctx, spec) }), nil
}

// background runs fn until the returned stop is called (or ctx ends);
// stop waits for fn to return.
func background(ctx context.Context, fn func(context.Context)) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// attachVM gives cfg a NIC on the lab network and the command line words
// that configure it.
func attachVM(l *network.Lab, e *network.Endpoint, cfg *hypervisor.Config) error {
	tap, err := l.AddTAP(e)
	if err != nil {
		return err
	}
	cfg.NICs = append(cfg.NICs, hypervisor.NIC{TAP: tap, Netns: l.Netns()})
	cfg.Cmdline = withNetWords(cfg.Cmdline, e.KernelIP(), l.HostsWord())
	return nil
}

// withNetWords replaces any ip= and twinboot.hosts= words of cmdline with
// words.
func withNetWords(cmdline string, words ...string) string {
	var out []string
	for _, w := range strings.Fields(cmdline) {
		if strings.HasPrefix(w, "ip=") || strings.HasPrefix(w, report.ParamHosts+"=") {
			continue
		}
		out = append(out, w)
	}
	return strings.Join(append(out, words...), " ")
}

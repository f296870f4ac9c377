package compare

import (
	"context"
	"fmt"
	"strings"

	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/hypervisor/vmm"
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

// ContainerOnNet runs one container on a lab network of its own (`ct run
// --net`): the network is built, the container gets an address, a veth
// and /etc/hosts before its workload starts, and the network is removed
// when the container has ended. onNet, when set, is told the network once
// the container is on it. It works natively on any host: no VM, no KVM.
func ContainerOnNet(ctx context.Context, s container.Spec, nc network.Config, onNet func(NetInfo)) (container.Result, error) {
	l, err := network.New(nc)
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
	attach := l.ContainerAttach(e)
	s.Attach = func(pid int) error {
		if err := attach(pid); err != nil {
			return err
		}
		if onNet != nil {
			onNet(netInfo(l, e))
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
func VMOnNet(ctx context.Context, cfg hypervisor.Config, nc network.Config, hostname string, onNet func(NetInfo)) (hypervisor.Result, error) {
	if hostname == "" {
		hostname = VMHostname
	}
	l, err := network.New(nc)
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
	if err := attachVM(l, e, &cfg); err != nil {
		return hypervisor.Result{}, err
	}
	if onNet != nil {
		onNet(netInfo(l, e))
	}
	return vmm.Run(ctx, cfg)
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

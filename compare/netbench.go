package compare

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/hypervisor/vmm"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/reexec"
	"github.com/twinboot/twinboot/internal/tail"
	"github.com/twinboot/twinboot/network"
)

// The lab network benchmark (`twinboot net bench`): our VM, our container
// and the QEMU peer (virtio-net on a TAP of the same network, the same
// kernel and initramfs) serve at once on one lab network, and the lab host
// measures each in turn, run after run: request/response round trips over
// one kept-alive TCP connection, and one TCP stream.

// NodeQEMU is the QEMU peer's name in the benchmark.
const NodeQEMU = PeerQEMU

// NetBenchOptions shape a lab network benchmark.
type NetBenchOptions struct {
	NetOptions
	Runs int // measured rounds over the targets (at least 1)
}

// NetTarget is one target's figures over the runs, measured at the lab host.
type NetTarget struct {
	Target   string `json:"target"` // vm, container or qemu
	Hostname string `json:"hostname,omitempty"`
	Addr     string `json:"addr,omitempty"`
	Version  string `json:"version,omitempty"` // the QEMU peer's
	// Skipped says why a target was not measured (no QEMU, no KVM).
	Skipped string            `json:"skipped,omitempty"`
	Error   string            `json:"error,omitempty"`
	Runs    []report.NetBench `json:"runs,omitempty"`
	RTTP50  Summary           `json:"rtt_p50_us"`  // each run's median round trip, over the runs
	Stream  Summary           `json:"stream_mb_s"` // each run's stream throughput, over the runs
	VM      *NetVMCost        `json:"vm_cost,omitempty"`
	Exits   map[string]uint64 `json:"-"`
}

// NetVMCost is what our VM's network traffic cost in exits: the VMM sees
// every exit, so it can say how many a frame took.
type NetVMCost struct {
	Frames uint64 `json:"frames"` // frames the NIC moved, both ways
	// Exits is every exit of the VM's run, by reason (its boot's ~1,000
	// included, small beside the frames of a benchmark).
	Exits         map[string]uint64 `json:"exits"`
	ExitsPerFrame float64           `json:"exits_per_frame"`
	// NICMMIOExitsPerFrame counts only the NIC's own register exits.
	NICMMIOExitsPerFrame float64 `json:"nic_mmio_exits_per_frame"`
	Interrupts           uint64  `json:"interrupts"`
}

// NetBenchResults is the benchmark's document.
type NetBenchResults struct {
	Schema      string      `json:"schema"`  // NetSchema
	Command     string      `json:"command"` // "net bench"
	Network     string      `json:"network"`
	Subnet      string      `json:"subnet"`
	LabHost     string      `json:"lab_host"`
	Emulated    bool        `json:"emulated"`
	Created     time.Time   `json:"created"`
	Runs        int         `json:"runs"`
	Pings       int         `json:"pings"`
	StreamBytes int64       `json:"stream_bytes"`
	Targets     []NetTarget `json:"targets"`
}

// BenchNet runs the lab network benchmark. A target that cannot run here
// (the QEMU peer without KVM) is reported skipped, with the reason; one
// that fails is an error, with the results still filled in.
func BenchNet(ctx context.Context, o NetBenchOptions, sink event.Sink) (NetBenchResults, error) {
	o.Options = o.Options.withDefaults()
	if o.Runs < 1 {
		return NetBenchResults{}, fmt.Errorf("%w: --runs must be at least 1, got %d", ErrBadOptions, o.Runs)
	}
	if o.Pings <= 0 {
		o.Pings = report.DefaultPeerPings
	}
	if o.StreamBytes <= 0 {
		o.StreamBytes = report.DefaultPeerBytes
	}
	res := NetBenchResults{Schema: NetSchema, Command: "net bench", Emulated: o.Emulated, Created: time.Now(), Runs: o.Runs, Pings: o.Pings, StreamBytes: o.StreamBytes}
	l, err := network.New(o.Net)
	if err != nil {
		return res, err
	}
	defer l.Close()
	res.Network, res.Subnet, res.LabHost = l.Name(), l.Subnet().String(), l.HostIP().String()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()

	// Our VM.
	vmEp, cfg, err := servingVM(l, o.Options, "vm", sink)
	if err != nil {
		return res, err
	}
	var vmRes hypervisor.Result
	wg.Add(1)
	go func() {
		defer wg.Done()
		vmRes, _ = vmm.Run(runCtx, cfg)
	}()

	// Our container.
	ctEp, err := l.Reserve(network.KindContainer, "ct", ContainerHostname)
	if err != nil {
		return res, err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		container.Run(runCtx, container.Spec{
			Rootfs: o.Guest.Rootfs, Hostname: ContainerHostname, Args: report.Args(report.ModeServe, 0),
			Stdout: io.Discard, Stderr: io.Discard, Events: sink, Attach: l.ContainerAttach(ctEp),
		})
	}()

	targets := []struct {
		t  NetTarget
		ep *network.Endpoint
	}{
		{NetTarget{Target: NodeVM, Hostname: vmEp.Hostname, Addr: vmEp.Addr.String()}, vmEp},
		{NetTarget{Target: NodeContainer, Hostname: ctEp.Hostname, Addr: ctEp.Addr.String()}, ctEp},
	}

	// The QEMU peer, where it can run.
	q := NetTarget{Target: NodeQEMU}
	qEp, qConsole, qerr := startQEMUOnNet(runCtx, l, o.Options, &q, &wg)
	if qerr != nil {
		q.Error = qerr.Error()
	}
	targets = append(targets, struct {
		t  NetTarget
		ep *network.Endpoint
	}{q, qEp})

	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ready := time.Now().Add(timeout)
	for i := range targets {
		t := &targets[i]
		if t.ep == nil || t.t.Skipped != "" || t.t.Error != "" {
			continue
		}
		if _, err := waitReport(runCtx, l.Probe(t.ep.IP()), ready); err != nil {
			t.t.Error = err.Error()
			if t.t.Target == NodeQEMU && qConsole != nil {
				t.t.Error += "; QEMU's console: " + qConsole.Join(5)
			}
		}
	}
	for run := 0; run < o.Runs; run++ {
		for i := range targets {
			t := &targets[i]
			if t.ep == nil || t.t.Skipped != "" || t.t.Error != "" {
				continue
			}
			c := l.Probe(t.ep.IP())
			mctx, cancel := context.WithTimeout(runCtx, timeout)
			b := c.Measure(mctx, o.Pings, o.StreamBytes)
			cancel()
			c.Close()
			if b.Error != "" {
				t.t.Error = fmt.Sprintf("run %d: %s", run+1, b.Error)
				continue
			}
			t.t.Runs = append(t.t.Runs, b)
			sink.Emit(event.Progress{Done: run*len(targets) + i + 1, Total: o.Runs * len(targets)})
			sink.Emit(event.Log{Msg: fmt.Sprintf("net bench run %d: lab host → %s: round trip p50 %.0f µs, stream %.1f MB/s", run+1, t.t.Target, b.RTTP50us, b.StreamMBps)})
		}
	}
	stop()
	wg.Wait()
	var errs []string
	for i := range targets {
		t := &targets[i].t
		var rtt, mbps []float64
		for _, b := range t.Runs {
			rtt, mbps = append(rtt, b.RTTP50us), append(mbps, b.StreamMBps)
		}
		t.RTTP50, t.Stream = Summarize(rtt), Summarize(mbps)
		if t.Target == NodeVM {
			t.VM = vmCost(vmRes)
		}
		if t.Error != "" {
			errs = append(errs, t.Target+": "+t.Error)
		}
		res.Targets = append(res.Targets, *t)
	}
	if len(errs) > 0 {
		return res, fmt.Errorf("%w: %s", ErrPathFailed, strings.Join(errs, "; "))
	}
	return res, nil
}

// vmCost reads the exits per frame off the VM's result.
func vmCost(r hypervisor.Result) *NetVMCost {
	for _, d := range r.Devices {
		if d.Kind != "virtio-net" || d.Requests == 0 {
			continue
		}
		var all uint64
		for _, n := range r.Exits {
			all += n
		}
		return &NetVMCost{
			Frames: d.Requests, Exits: r.Exits, Interrupts: d.Interrupts,
			ExitsPerFrame:        float64(all) / float64(d.Requests),
			NICMMIOExitsPerFrame: float64(d.MMIOExits) / float64(d.Requests),
		}
	}
	return nil
}

// startQEMUOnNet boots the QEMU peer on the lab network: the same kernel
// and initramfs, on QEMU's microvm machine (virtio-mmio, as ours), with
// virtio-net on a TAP of the lab namespace that is opened here and handed
// to QEMU as a file (-netdev tap,fd=3), so that QEMU itself runs where the
// other peers do. It returns the peer's endpoint, or nil with q.Skipped
// set when it cannot run here.
func startQEMUOnNet(ctx context.Context, l *network.Lab, o Options, q *NetTarget, wg *sync.WaitGroup) (*network.Endpoint, *tail.Buffer, error) {
	path, accel, skipped := qemuKVM(o, HostFacts())
	if skipped != "" {
		q.Skipped = skipped
		return nil, nil, nil
	}
	if out, err := exec.Command(path, "-machine", "help").Output(); err != nil || !bytes.Contains(out, []byte("microvm")) {
		q.Skipped = "this QEMU has no microvm machine, whose virtio-mmio NIC the lab kernel drives (it has no PCI)"
		return nil, nil, nil
	}
	q.Version = version(path) + " -M microvm"
	e, err := l.Reserve(network.KindVM, "qemu", "twinboot-qemu")
	if err != nil {
		return nil, nil, err
	}
	q.Hostname, q.Addr = e.Hostname, e.Addr.String()
	tapName, err := l.AddTAP(e)
	if err != nil {
		return nil, nil, err
	}
	tap, err := hypervisor.OpenTAP(l.Netns(), tapName)
	if err != nil {
		return nil, nil, err
	}
	cmdline := withNetWords(report.Cmdline(hypervisor.DefaultCmdline, report.ModeServe, 0), e.KernelIP(), l.HostsWord())
	args := append(append([]string(nil), accel...),
		// No ACPI: QEMU then announces the virtio-mmio NIC on the kernel
		// command line (virtio_mmio.device=), as our VMM does.
		"-M", "microvm,acpi=off",
		"-m", fmt.Sprintf("%dM", o.VMMemBytes>>20), "-smp", fmt.Sprint(o.VMCPUs),
		"-kernel", o.Kernel, "-initrd", o.Initrd, "-append", cmdline,
		"-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
		"-serial", "stdio", "-no-reboot",
		"-netdev", "tap,id=n0,fd=3", "-device", "virtio-net-device,netdev=n0",
	)
	cmd := exec.Command(path, args...)
	cmd.ExtraFiles = []*os.File{tap}
	console := tail.New(4 << 10)
	cmd.Stdout, cmd.Stderr = console, console
	exited := make(chan struct{})
	wg.Add(1)
	err = reexec.StartPinned(cmd, func(error) {
		defer wg.Done()
		close(exited)
	})
	tap.Close() // QEMU has its own copy
	if err != nil {
		wg.Done()
		return nil, nil, fmt.Errorf("start QEMU: %w", err)
	}
	go func() {
		select {
		case <-ctx.Done():
			cmd.Process.Kill()
		case <-exited:
		}
	}()
	return e, console, nil
}

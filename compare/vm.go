package compare

import (
	"context"
	"strings"
	"time"

	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/hypervisor/vmm"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/tail"
)

// vmRunner boots the lab kernel and initramfs under our hypervisor, in its
// own VMM process (package hypervisor/vmm). The
// probe is told by the kernel command line what to do (power off after
// READY) and how many getppid calls to make in its burst.
func vmRunner(opt Options) runner {
	return func(ctx context.Context, index, syscalls int, sink event.Sink) Side {
		start := time.Now()
		side := Side{Name: string(event.VM), Emulated: opt.Emulated}
		cfg := hypervisor.Config{
			Kernel:   opt.Kernel,
			Initrd:   opt.Initrd,
			Cmdline:  report.Cmdline(hypervisor.DefaultCmdline, report.ModePoweroff, syscalls),
			MemBytes: opt.VMMemBytes,
			CPUs:     opt.VMCPUs,
			// No Console writer: the hypervisor already emits its serial
			// output as event.Console on Events, once.
			Events:   sink,
			Timeout:  opt.Timeout,
			Start:    start,
			Emulated: opt.Emulated,
		}
		// The VM runs in a VMM process of its own, so that its memory
		// figures are the VMM's alone.
		res, err := vmm.Run(ctx, cfg)
		if res.Reason == "" && err != nil {
			side.Reason, side.Error = "setup-failed", err.Error()
			sink.Emit(event.Failure{Side: event.VM, Err: err.Error()})
			return side
		}
		side.Reason = string(res.Reason)
		side.Protocol = res.Protocol
		side.Phases = res.Phases
		side.Exits = res.Exits
		side.IOPorts = res.IOPorts
		side.Report = res.Report
		side.Memory = Memory{
			ConfiguredBytes:  res.Memory.ConfiguredBytes,
			TouchedBytes:     res.Memory.TouchedBytes,
			VMMOverheadBytes: res.Memory.VMMOverheadBytes,
		}
		side.ReadyNS = readyAt(res.Phases, hypervisor.PhaseReady)
		switch {
		case err != nil:
			side.Error = withTail(err.Error(), res.ConsoleTail)
		case res.Report == nil:
			side.Error = withTail("the probe printed no READY line", res.ConsoleTail)
		case side.ReadyNS == 0:
			side.Error = "READY was printed but the hypervisor recorded no READY phase"
		}
		if side.Error != "" {
			sink.Emit(event.Failure{Side: event.VM, Err: side.Error})
		}
		return side
	}
}

// readyAt finds the time of the named phase, 0 if it never happened.
func readyAt(phases []event.Phase, name string) int64 {
	for _, p := range phases {
		if p.Name == name {
			return int64(p.At)
		}
	}
	return 0
}

// withTail adds the last console lines to an error: a VM that died says
// why only on its console.
func withTail(msg string, lines []string) string {
	if len(lines) == 0 {
		return msg
	}
	return msg + "; console tail: " + strings.Join(tail.Last(lines, 5), " | ")
}

package compare

import (
	"context"
	"fmt"
	"os"

	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/internal/event"
)

// probeArgs is the workload of every container-like side, ours and the OCI
// peers': the probe as PID 1, one READY line, then exit.
func probeArgs(syscalls int) []string {
	return report.Args(report.ModeExit, syscalls)
}

// containerRunner starts the probe in the lab rootfs under our runtime,
// from the very bundle runc and crun are given (writeBundle): read-only
// root, the same namespaces and mounts, so that the three runtimes do the
// same work (no writable overlay for one and not the others).
func containerRunner(opt Options) runner {
	return func(ctx context.Context, index, syscalls int, sink event.Sink) Side {
		side := Side{Name: string(event.Container), Emulated: opt.Emulated}
		bundle, err := writeBundle(opt.Guest.Rootfs, probeArgs(syscalls))
		if err != nil {
			side.Reason, side.Error = "setup-failed", err.Error()
			sink.Emit(event.Failure{Side: event.Container, Err: side.Error})
			return side
		}
		defer os.RemoveAll(bundle)
		res, err := container.Run(ctx, container.Spec{
			Bundle:      bundle,
			MemoryLimit: opt.CTMemBytes,
			Events:      sink,
			Timeout:     opt.Timeout,
		})
		side.Reason = res.Reason
		side.Phases = res.Phases
		side.Report = res.Report
		side.Memory = Memory{
			CgroupPeakBytes: res.Memory.CgroupPeakBytes,
			RSSBytes:        res.Memory.RSSBytes,
			PSSBytes:        res.Memory.PSSBytes,
		}
		side.ReadyNS = readyAt(res.Phases, container.PhaseReady)
		switch {
		case err != nil:
			side.Error = err.Error()
		case res.Report == nil:
			side.Error = fmt.Sprintf("the probe printed no READY line (%s, exit code %d)", res.Reason, res.ExitCode)
		case res.Reason != container.ReasonExited || res.ExitCode != 0:
			side.Error = fmt.Sprintf("the probe ended badly after READY: %s, exit code %d", res.Reason, res.ExitCode)
		}
		if side.Error != "" {
			sink.Emit(event.Failure{Side: event.Container, Err: side.Error})
		}
		return side
	}
}

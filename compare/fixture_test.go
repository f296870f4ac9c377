package compare

import (
	"time"

	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/internal/event"
)

// synthetic builds a results document by hand, with figures of the size
// measured in nested mode. It is input for the exporters' tests, not a
// measurement.
func synthetic(runs int) Results {
	host := Host{Hostname: "lab", KernelRelease: "6.1.0-56-amd64", BootID: "host-boot", CPUModel: "QEMU Virtual CPU", CPUs: 2, KVM: "svm", Cgroup: "v1"}
	res := Results{
		Schema: Schema, Created: time.Date(2026, 11, 27, 23, 0, 0, 0, time.UTC), Command: "bench",
		Host: host, Mode: "nested", Emulated: true,
		Config: Config{GuestKey: "k", VMMemBytes: 128 << 20, VMCPUs: 1, Syscalls: 1000, Runs: runs, Warmup: 1},
		Peers:  []Peer{{Name: PeerQEMU, Skipped: "qemu-system-x86_64 is not installed"}, {Name: PeerCrun, Version: "1.8.1"}},
	}
	f := func(v float64) *float64 { return &v }
	for i := 0; i < runs+1; i++ {
		ms := func(n int) time.Duration { return time.Duration(n+i*7) * time.Millisecond }
		vmPh := []event.Phase{
			{Side: event.VM, Name: "process start", At: 0, Emulated: true},
			{Side: event.VM, Name: "VM and memory ready", At: ms(3), Emulated: true},
			{Side: event.VM, Name: "kernel loaded", At: ms(9), Emulated: true},
			{Side: event.VM, Name: "first KVM_RUN", At: ms(10), Emulated: true},
			{Side: event.VM, Name: "first serial byte", At: ms(900), Emulated: true},
			{Side: event.VM, Name: "READY seen", At: ms(2500), Emulated: true},
		}
		ctPh := []event.Phase{
			{Side: event.Container, Name: "process start", At: 0, Emulated: true},
			{Side: event.Container, Name: "cgroup ready", At: ms(2), Emulated: true},
			{Side: event.Container, Name: "clone", At: ms(4), Emulated: true},
			{Side: event.Container, Name: "pivot_root done", At: ms(6), Emulated: true},
			{Side: event.Container, Name: "exec probe", At: ms(7), Emulated: true},
			{Side: event.Container, Name: "READY seen", At: ms(30), Emulated: true},
		}
		vm := &Side{
			Name: "vm", Emulated: true, Reason: "poweroff", Protocol: "pvh", Phases: vmPh, ReadyNS: int64(ms(2500)),
			Memory:  Memory{ConfiguredBytes: 128 << 20, TouchedBytes: uint64(20+i) << 20, VMMOverheadBytes: 9 << 20},
			Exits:   map[string]uint64{"io": 700, "shutdown": 1},
			IOPorts: map[uint16]uint64{0x3f8: 650, 0xf4: 1},
			Report: &report.Report{Mode: "poweroff", KernelRelease: "6.1.0-twinboot", BootID: "vm-boot", PID: 1, UptimeSec: f(1.2),
				Syscalls: &report.SyscallBurst{Count: 1000, TotalNS: 90000}},
		}
		ct := &Side{
			Name: "container", Emulated: true, Reason: "exited", Phases: ctPh, ReadyNS: int64(ms(30)),
			Memory: Memory{CgroupPeakBytes: uint64(3+i) << 20, RSSBytes: 2 << 20, PSSBytes: 1 << 20},
			Report: &report.Report{Mode: "exit", KernelRelease: host.KernelRelease, BootID: host.BootID, PID: 1,
				Syscalls: &report.SyscallBurst{Count: 1000, TotalNS: 150000}},
		}
		crun := Side{Name: PeerCrun, Version: "1.8.1", Emulated: true, Reason: "exited", ReadyNS: int64(ms(40)),
			Phases: []event.Phase{{Side: PeerCrun, Name: "spawn", At: 0}, {Side: PeerCrun, Name: "READY seen", At: ms(40)}},
			Report: &report.Report{Mode: "exit", KernelRelease: host.KernelRelease, BootID: host.BootID, PID: 1}}
		run := Run{Index: i, Warmup: i == 0, VM: vm, Container: ct, Peers: []Side{crun}}
		run.Kernel = KernelFacts(host, vm, ct, vm, KernelImage{TextBytes: 4 << 20, DataBytes: 2 << 20})
		res.Runs = append(res.Runs, run)
	}
	res.Stats = BuildStats(res.Runs)
	return res
}

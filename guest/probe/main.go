package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/guest/probe/internal/observe"
	"github.com/twinboot/twinboot/guest/report"
)

// Modes: what the probe does after printing its line (the contract is in
// guest/report).
const (
	modeExit     = report.ModeExit
	modePoweroff = report.ModePoweroff
	modeShell    = report.ModeShell
	modeIdle     = report.ModeIdle
	modeServe    = report.ModeServe
)

const defaultSyscalls = report.DefaultSyscalls

// startMono is the probe's first act: package main's variables are
// initialised before anything else of the probe's runs (after the Go
// runtime and the standard library's initialisers).
var startMono = monotonicNow()

func monotonicNow() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Nano()
}

// ownKernel is set when the kernel command line carries twinboot.mode=,
// that is when the probe runs in a VM that twinboot booted to run it. Other
// twinboot.* words do not count: the nested-mode lab machine's own command
// line has twinboot.nested=1, and a container running there shares that
// kernel and must not take its devices or its exit port.
var ownKernel bool

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	mode := fs.String(report.SettingMode, modeExit, "after printing: exit, poweroff, shell, idle or serve (default from twinboot.mode= on the kernel command line, else exit)")
	syscalls := fs.Int(report.SettingSyscalls, defaultSyscalls, "getppid calls in the syscall burst (default from twinboot.syscalls=)")
	peer := fs.String(report.SettingPeer, "", "after READY, measure round trips and one TCP stream to a serving probe at HOST:PORT[,PINGS,BYTES] and print a TWINBOOT-NETBENCH line (default from twinboot.peer=)")
	diskbench := fs.String(report.SettingDiskbench, "", "after READY, measure this disk or file (sequential read and write, 4 KiB random reads) and print a TWINBOOT-DISKBENCH line; it is overwritten (default from twinboot.diskbench=)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	pid1 := os.Getpid() == 1
	var r report.Report
	if pid1 {
		// The probe needs /proc and /sys to look at the world; as PID 1 it
		// mounts them when nobody did. Failures are reported, not fatal.
		for _, m := range []struct{ target, fstype string }{{"/proc", "proc"}, {"/sys", "sysfs"}} {
			if err := mountMissing(m.target, m.fstype); err != nil {
				noteErr(&r, "mount "+m.target, err)
			}
		}
	}

	root := os.DirFS("/")
	// The kernel command line only matters where it is ours (a VM); a flag
	// given explicitly always wins over it.
	params, _ := observe.CmdlineParams(root)
	// Only then is the machine ours to end through the exit port (see
	// powerOff).
	_, ownKernel = params[report.SettingMode]
	if pid1 && needDevtmpfs(ownKernel) {
		if err := mountMissing("/dev", "devtmpfs"); err != nil {
			noteErr(&r, "mount /dev", err)
		}
	}
	if !set[report.SettingMode] {
		if m, ok := params[report.SettingMode]; ok {
			*mode = m
		}
	}
	if !set[report.SettingSyscalls] {
		if s, ok := params[report.SettingSyscalls]; ok {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				noteErr(&r, "syscalls", fmt.Errorf("twinboot.syscalls=%q is not a count; using %d", s, *syscalls))
			} else {
				*syscalls = n
			}
		}
	}
	if !set[report.SettingDiskbench] {
		*diskbench = params[report.SettingDiskbench]
	}
	if !set[report.SettingPeer] {
		*peer = params[report.SettingPeer]
	}
	// In a VM the lab network's names come on the command line (a
	// container's /etc/hosts is written by the runtime). The hostname and
	// eth0's address come from the kernel's own ip= word.
	if h, ok := params[report.SettingHosts]; ok && ownKernel {
		if err := writeHosts(h); err != nil {
			noteErr(&r, "hosts", err)
		}
	}
	switch *mode {
	case modeExit, modePoweroff, modeShell, modeIdle, modeServe:
	default:
		noteErr(&r, "mode", fmt.Errorf("unknown mode %q; using %q", *mode, modeExit))
		*mode = modeExit
	}
	if *syscalls < 0 {
		noteErr(&r, "syscalls", fmt.Errorf("--syscalls %d is negative; using 0", *syscalls))
		*syscalls = 0
	}

	r.Mode = *mode
	r.StartMonoNS = startMono
	observe.Files(root, &r)
	observe.Live(&r)
	burst := observe.SyscallBurst(*syscalls)
	r.Syscalls = &burst

	line, err := r.Line()
	if err != nil {
		fmt.Fprintf(os.Stderr, "probe: %v\n", err)
		return finish(*mode, pid1, 1)
	}
	// One write for the whole line, so a serial console or a pipe never sees
	// it torn by other output.
	if _, err := os.Stdout.WriteString(line + "\n"); err != nil {
		return finish(*mode, pid1, 1)
	}

	if *diskbench != "" {
		printDiskBench(diskBench(*diskbench))
	}
	if *mode == modeIdle {
		idle()
		if pid1 && ownKernel {
			return finish(modePoweroff, pid1, 0)
		}
		return 0
	}
	if *mode == modeServe {
		// Serving starts before measuring a peer: two probes that each
		// serve and measure the other must not wait on each other.
		status := serve(r, *peer)
		if !pid1 || !ownKernel {
			return status
		}
		return finish(modePoweroff, pid1, status)
	}
	if *peer != "" {
		measurePeer(*peer)
	}
	if *mode == modeShell {
		status := shell(pid1)
		if !pid1 || !ownKernel {
			// A container's shell: its end is the container's end, with
			// the shell's status. Only a VM has a machine to power off.
			return status
		}
		return finish(modePoweroff, pid1, status)
	}
	return finish(*mode, pid1, 0)
}

// finish ends the probe: in poweroff mode it ends the VM, otherwise it
// returns the exit status.
func finish(mode string, pid1 bool, status int) int {
	if mode == modePoweroff {
		powerOff(pid1, status)
	}
	return status
}

func noteErr(r *report.Report, field string, err error) {
	if r.Errors == nil {
		r.Errors = map[string]string{}
	}
	r.Errors[field] = err.Error()
}

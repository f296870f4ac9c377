package report

import (
	"strconv"
	"strings"
)

// The probe's contract: how the host tells it what to do, defined here once
// for the probe, the hypervisor's command line, the container's arguments
// and the lab's shells.
//
// In a container the probe reads its arguments (Args). In a VM it reads the
// kernel command line, whose "twinboot.<name>=<value>" words the kernel
// ignores and passes to nobody (Cmdline); an argument given explicitly
// wins over the command line. twinboot.mode= also tells the probe the
// machine is its own to power off: the nested-mode lab machine's command
// line has other twinboot.* words, never twinboot.mode=.

// Modes: what the probe does after printing its READY line.
const (
	ModeExit     = "exit"     // exit 0 (benchmarks, containers)
	ModePoweroff = "poweroff" // end the VM: exit port, then reboot(2)
	ModeShell    = "shell"    // exec busybox sh on the console (the lab)
	// ModeIdle prints READY and then waits, doing nothing, until SIGTERM or
	// SIGINT (a container's end) or until the VM is stopped from outside:
	// an instance that is up and idle, as twinboot density measures it.
	ModeIdle = "idle"
)

// Path is the probe's path in the initramfs and in the container's rootfs.
const Path = "/init"

// DefaultSyscalls is the size of the probe's getppid burst.
const DefaultSyscalls = 10000

// The probe's settings: its flags in a container (--mode, --syscalls,
// --diskbench) and, with the "twinboot." prefix, its kernel command line
// parameters in a VM (twinboot.mode=, twinboot.syscalls=,
// twinboot.diskbench=).
const (
	SettingMode      = "mode"
	SettingSyscalls  = "syscalls"
	SettingDiskbench = "diskbench"

	ParamPrefix   = "twinboot."
	ParamMode     = ParamPrefix + SettingMode
	ParamSyscalls = ParamPrefix + SettingSyscalls
)

// Args is the probe's command line in a container: Path, the mode and, when
// syscalls is not negative, the burst size.
func Args(mode string, syscalls int) []string {
	args := []string{Path, "--" + SettingMode, mode}
	if syscalls >= 0 {
		args = append(args, "--"+SettingSyscalls, strconv.Itoa(syscalls))
	}
	return args
}

// Cmdline returns the kernel command line base with twinboot.mode=mode and,
// when syscalls is not negative, twinboot.syscalls=syscalls; words of base
// that set either are replaced.
func Cmdline(base, mode string, syscalls int) string {
	var words []string
	for _, w := range strings.Fields(base) {
		if strings.HasPrefix(w, ParamMode+"=") || (syscalls >= 0 && strings.HasPrefix(w, ParamSyscalls+"=")) {
			continue
		}
		words = append(words, w)
	}
	words = append(words, ParamMode+"="+mode)
	if syscalls >= 0 {
		words = append(words, ParamSyscalls+"="+strconv.Itoa(syscalls))
	}
	return strings.Join(words, " ")
}

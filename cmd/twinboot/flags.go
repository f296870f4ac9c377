package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/lab"
	"github.com/twinboot/twinboot/nested"
	"github.com/twinboot/twinboot/network"
)

// The flags several commands share are declared here, once.

// modeFlag declares --mode; note says what the command's default means.
func modeFlag(fs *pflag.FlagSet, def, note string) *string {
	return fs.String("mode", def, "where the VM runs: auto (native with hardware KVM, else nested), native (this host's /dev/kvm),\n"+
		"or nested (inside an emulated AMD-V machine under QEMU; timings are then emulated)"+note)
}

// size is a byte count written "128M", "1G", "65536K" or plain.
type size struct {
	bytes     uint64
	allowZero bool // "0" means none
}

func (s *size) String() string {
	if s.bytes == 0 {
		return "0"
	}
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"G", 30}, {"M", 20}, {"K", 10}} {
		if s.bytes%(1<<u.shift) == 0 {
			return strconv.FormatUint(s.bytes>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatUint(s.bytes, 10)
}

func (s *size) Set(v string) error {
	if s.allowZero && (v == "0" || v == "") {
		s.bytes = 0
		return nil
	}
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	s.bytes = n
	return nil
}

func (s *size) Type() string { return "size" }

// parseSize reads "128M", "1G", "65536K" or a plain byte count.
func parseSize(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	mult := uint64(1)
	if n := len(s); n > 0 {
		switch strings.ToUpper(s[n-1:]) {
		case "K":
			mult, s = 1<<10, s[:n-1]
		case "M":
			mult, s = 1<<20, s[:n-1]
		case "G":
			mult, s = 1<<30, s[:n-1]
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("bad size %q (want e.g. 128M)", s)
	}
	if v > (1<<63)/mult {
		return 0, fmt.Errorf("size %q too large", s)
	}
	return v * mult, nil
}

// vmFlags describe the VM of vm, run and bench.
type vmFlags struct {
	kernel, initrd string
	mem            size
	cpus           int
}

// fileFlag marks a flag whose value is a file of this host: a run in L1
// gets the file with its job, and the flag names it there.
const fileFlag = "twinboot/host-file"

func (v *vmFlags) add(fs *pflag.FlagSet, defaultKernel string) {
	v.mem = size{bytes: compare.DefaultVMMem}
	fs.StringVar(&v.kernel, "kernel", "", "VM kernel: a bzImage or an ELF vmlinux with a PVH note (default: "+defaultKernel+")")
	fs.StringVar(&v.initrd, "initrd", "", "VM initramfs (default: the lab initramfs from 'make guest')")
	fs.Var(&v.mem, "mem", "VM guest RAM, exactly (K, M or G suffix)")
	fs.IntVar(&v.cpus, "cpus", 1, "VM vCPUs")
	fs.SetAnnotation("kernel", fileFlag, []string{"true"})
	fs.SetAnnotation("initrd", fileFlag, []string{"true"})
}

// experimentFlags are the flags of run and bench that shape the
// experiment. They live in a flag set of their own: it is what the
// twinboot inside L1 is given again, as set on this command line.
type experimentFlags struct {
	fs       *pflag.FlagSet
	vm       vmFlags
	ctMem    size
	syscalls int
	timeout  time.Duration
	peers    bool
	runs     int
	warmup   int
}

func newExperimentFlags(bench bool) *experimentFlags {
	e := &experimentFlags{fs: pflag.NewFlagSet("experiment", pflag.ContinueOnError), ctMem: size{allowZero: true}}
	e.vm.add(e.fs, "the lab kernel's vmlinux, PVH; the QEMU peer boots it too")
	e.fs.Var(&e.ctMem, "ct-mem", "container memory limit (0: none)")
	e.fs.IntVar(&e.syscalls, "syscalls", compare.DefaultSyscalls, "getppid calls in the probe's syscall burst (both sides)")
	e.fs.DurationVar(&e.timeout, "timeout", compare.DefaultTimeout, "per boot: give up on a side after this long")
	e.fs.BoolVar(&e.peers, "peers", false, "also measure QEMU/KVM, runc and crun where installed (others are reported skipped)")
	e.runs = 1
	if bench {
		e.fs.IntVar(&e.runs, "runs", 10, "measured VM+container pairs (at least 1)")
		e.fs.IntVar(&e.warmup, "warmup", 1, "pairs run first and left out of the statistics")
	}
	return e
}

// experiment checks the flags and builds the experiment. It is checked here
// even when L1 will do the work: a bad count or an unbuilt guest should not
// cost an emulated boot to find out.
func (e *experimentFlags) experiment(command string, d host.Decision) (lab.Experiment, error) {
	x := lab.Experiment{Command: command}
	switch {
	case e.runs < 1:
		return x, usagef("--runs must be at least 1, got %d", e.runs)
	case e.warmup < 0:
		return x, usagef("--warmup must not be negative, got %d", e.warmup)
	case e.syscalls < 0:
		return x, usagef("--syscalls must not be negative")
	}
	mode, emulated := lab.Where(d)
	x.Options = compare.Options{
		Kernel: e.vm.kernel, Initrd: e.vm.initrd, VMMemBytes: e.vm.mem.bytes, VMCPUs: e.vm.cpus,
		CTMemBytes: int64(e.ctMem.bytes), Syscalls: e.syscalls, Timeout: e.timeout, Peers: e.peers,
		Runs: e.runs, Warmup: e.warmup, Mode: mode, Emulated: emulated,
	}
	if err := x.Options.Validate(); err != nil {
		return x, usageError{err}
	}
	a, err := guest.Load(guest.BuildDir())
	if err != nil {
		return x, err
	}
	x.Options.Guest = a
	x.Inner, x.Files = innerArgs(e.fs)
	return x, nil
}

// innerArgs rebuilds the flags of fs that were set, for the same command in
// L1; a flag naming a host file names its copy there, which files lists.
func innerArgs(fs *pflag.FlagSet) (args []string, files []nested.File) {
	// VisitAll and Changed, not Visit: the command line was parsed by the
	// command's flag set, which shares these flags but not fs's record of
	// which were set.
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			arg, fs := intoL1(f)
			args, files = append(args, arg), append(files, fs...)
		}
	})
	return args, files
}

// netFlags are --net and --subnet: put the side on a lab network of its
// own (package network).
type netFlags struct {
	on, peer bool
	subnet   string
}

func (n *netFlags) add(fs *pflag.FlagSet, what string) {
	fs.BoolVar(&n.on, "net", false, what+" on a private lab network of its own: a network namespace twinboot makes,\n"+
		"with a bridge, the lab host at the subnet's first address, an address and /etc/hosts for each side\n"+
		"(no uplink; the host's own network is never touched; removed at the end)")
	fs.StringVar(&n.subnet, "subnet", "", "the lab network's IPv4 subnet, with --net (default "+network.DefaultSubnet+", or the next free /24 above it)")
}

// addPeer declares --net-peer: the other side on the same network, serving.
func (n *netFlags) addPeer(fs *pflag.FlagSet, other string) {
	fs.BoolVar(&n.peer, "net-peer", false, "with --net: also start "+other+" on the same network, serving its report on port 8080\n"+
		"(the probe's serve mode), so that this side can ping and wget it by name")
}

// check refuses --subnet without --net and a bad subnet, before any slow
// work.
func (n *netFlags) check() error {
	if n.subnet != "" && !n.on {
		return usagef("--subnet needs --net")
	}
	if n.peer && !n.on {
		return usagef("--net-peer needs --net")
	}
	if err := network.CheckConfig(n.config()); err != nil {
		return usageError{err}
	}
	return nil
}

func (n *netFlags) config() network.Config { return network.Config{Subnet: n.subnet} }

// onNet is what compare needs to put one side on the network; told prints
// the network's line.
func (n *netFlags) onNet(told func(compare.NetInfo)) (compare.OnNet, error) {
	on := compare.OnNet{Net: n.config(), Told: told}
	if n.peer {
		// The container side runs natively wherever it is asked to; a VM
		// beside it needs hardware-style KVM here.
		if d, err := host.Decide(host.ModeAuto); err != nil || d.Mode != host.ModeNative {
			return on, usagef("--net-peer boots both sides here, and this host cannot boot a VM natively (%s): add --mode nested", d.Reason)
		}
		a, err := guest.Load(guest.BuildDir())
		if err != nil {
			return on, fmt.Errorf("--net-peer: %w", err)
		}
		on.Peer = &compare.Options{Guest: a, VMMemBytes: compare.DefaultVMMem, VMCPUs: 1}
	}
	return on, nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/nested"
)

// processStart is as close to the process's start as Go lets us get: package
// variables are initialised before main runs.
var processStart = time.Now()

func init() {
	var (
		kernel, initrd, cmdline, mem string
		cpus                         int
		timeout                      time.Duration
		jsonOut, quiet, stdin        bool
		mode                         *string
		disks                        diskFlags
		tap, id                      string
	)
	register(&command{
		name:    "vm",
		short:   "Boot the guest under twinboot's own KVM hypervisor",
		summary: "Boot the guest as a VM under twinboot's own KVM hypervisor and report what it measured.",
		usage:   "[--mode auto|native|nested] [--kernel K] [--initrd I] [--mem 128M] [--cpus 1] [--cmdline ...] [--disk IMG[,ro]]... [--tap NAME] [--timeout 30s] [--json]",
		setup: func(fs *flag.FlagSet) {
			fs.StringVar(&kernel, "kernel", "", "bzImage or ELF vmlinux with a PVH note (default: the lab kernel's bzImage from 'make guest')")
			fs.StringVar(&initrd, "initrd", "", "initramfs (default: the lab initramfs from 'make guest'; 'none' for no initrd)")
			fs.StringVar(&mem, "mem", "128M", "guest RAM, exactly (K, M or G suffix)")
			fs.IntVar(&cpus, "cpus", 1, "number of vCPUs")
			fs.StringVar(&cmdline, "cmdline", hypervisor.DefaultCmdline, "kernel command line")
			fs.DurationVar(&timeout, "timeout", hypervisor.DefaultTimeout, "give up after this long (0: never)")
			fs.BoolVar(&jsonOut, "json", false, "print events and the result as JSON lines on stdout")
			fs.BoolVar(&quiet, "quiet", false, "do not copy the guest console to stderr")
			fs.BoolVar(&stdin, "stdin", false, "feed standard input to the guest's serial port (with twinboot.mode=shell on the command line)")
			fs.Var(&disks, "disk", "raw disk image as a virtio-blk disk, IMG or IMG,ro; repeat for /dev/vda, /dev/vdb, ... (in nested mode the VM gets a copy)")
			fs.StringVar(&tap, "tap", "", "attach the guest's eth0 (virtio-net) to this existing TAP device")
			fs.StringVar(&id, "id", "", "the VM's ID; eth0's MAC address is derived from it")
			mode = addModeFlag(fs)
		},
		run: func(fs *flag.FlagSet, args []string, stdout io.Writer) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: unexpected arguments %q", errUsage, args)
			}
			// Without hardware KVM, run this same command inside nested
			// mode's L1 machine and relay its output (cmd_mode.go).
			// With --stdin, what this process reads goes into L1 too.
			decision, done, err := relayNested(fs, *mode, stdout, nil, relayInput{stdin: stdin, files: disks.intoL1})
			if done {
				return err
			}
			memBytes, err := parseSize(mem)
			if err != nil {
				return fmt.Errorf("%w: --mem: %v", errUsage, err)
			}
			if kernel == "" || initrd == "" {
				a, err := guest.Load(guest.BuildDir())
				if err != nil {
					return fmt.Errorf("default kernel and initrd: %w (or pass --kernel and --initrd)", err)
				}
				if kernel == "" {
					kernel = a.BzImage
				}
				if initrd == "" {
					initrd = a.Initramfs
				}
			}
			if initrd == "none" {
				initrd = ""
			}
			cfg := hypervisor.Config{
				Kernel: kernel, Initrd: initrd, Cmdline: cmdline, MemBytes: memBytes,
				CPUs: cpus, Timeout: timeout, Start: processStart,
				Emulated: decision.Emulated(),
				Disks:    disks, ID: id,
			}
			if tap != "" {
				cfg.NICs = []hypervisor.NIC{{TAP: tap}}
			}
			if !quiet && !jsonOut {
				cfg.Console = fs.Output()
			}
			if stdin {
				cfg.Input = os.Stdin
			}
			if jsonOut {
				cfg.Events = func(ev event.Event) { event.Write(stdout, ev) }
			}
			// Inside L1, the events also travel to the host's twinboot.
			cfg.Events = nested.Tee(cfg.Events, nested.EventTap())
			return runVM(cfg, jsonOut, stdout, fs.Output())
		},
	})
}

func runVM(cfg hypervisor.Config, jsonOut bool, stdout, stderr io.Writer) error {
	vm, err := hypervisor.New(cfg)
	if err != nil {
		if jsonOut {
			event.Write(stdout, event.Failure{Side: event.VM, Err: err.Error()})
		}
		return err
	}
	defer vm.Close()
	res, runErr := vm.Run(context.Background())
	if jsonOut {
		b, err := json.Marshal(struct {
			Kind string            `json:"kind"`
			Data hypervisor.Result `json:"data"`
		}{"vm-result", res})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", b)
		if runErr != nil {
			event.Write(stdout, event.Failure{Side: event.VM, Err: runErr.Error()})
		}
	} else {
		printVMResult(stdout, res)
	}
	if runErr != nil {
		if !jsonOut && len(res.ConsoleTail) > 0 {
			fmt.Fprintf(stderr, "last console lines:\n")
			for _, l := range res.ConsoleTail {
				fmt.Fprintf(stderr, "  | %s\n", l)
			}
		}
		var code = 1
		if errors.Is(runErr, hypervisor.ErrTimeout) {
			code = 124 // as timeout(1)
		}
		fmt.Fprintf(stderr, "twinboot vm: %v\n", runErr)
		return exitError{code}
	}
	return nil
}

func printVMResult(w io.Writer, r hypervisor.Result) {
	fmt.Fprintf(w, "reason:   %s (status %d)\n", r.Reason, r.Status)
	fmt.Fprintf(w, "protocol: %s, %d vCPU(s)\n", r.Protocol, r.CPUs)
	if r.Detail != "" {
		fmt.Fprintf(w, "detail:   %s\n", r.Detail)
	}
	fmt.Fprintf(w, "phases (host monotonic):\n")
	for _, p := range r.Phases {
		em := ""
		if p.Emulated {
			em = "  (emulated)"
		}
		fmt.Fprintf(w, "  %-22s %10.3f ms%s\n", p.Name, float64(p.At)/1e6, em)
	}
	fmt.Fprintf(w, "exits:   ")
	keys := make([]string, 0, len(r.Exits))
	for k := range r.Exits {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, " %s=%d", k, r.Exits[k])
	}
	fmt.Fprintf(w, "\nio ports:")
	ports := make([]int, 0, len(r.IOPorts))
	for p := range r.IOPorts {
		ports = append(ports, int(p))
	}
	sort.Ints(ports)
	for _, p := range ports {
		fmt.Fprintf(w, " %#x=%d", p, r.IOPorts[uint16(p)])
	}
	for _, d := range r.Devices {
		perReq := 0.0
		if d.Requests > 0 {
			perReq = float64(d.MMIOExits) / float64(d.Requests)
		}
		fmt.Fprintf(w, "\ndevice:   %s %s (%s): %d requests, %d MMIO exits (%.1f per request), %d notifies via ioeventfd, %d interrupts, %d B in, %d B out",
			d.Name, d.Kind, d.Backend, d.Requests, d.MMIOExits, perReq, d.Notifies, d.Interrupts, d.BytesRead, d.BytesWrite)
		if d.Broken != "" {
			fmt.Fprintf(w, ", BROKEN: %s", d.Broken)
		}
	}
	m := r.Memory
	fmt.Fprintf(w, "\nmemory:   configured %d MiB, touched %.1f MiB, VMM overhead %.1f MiB (peak RSS %.1f MiB)\n",
		m.ConfiguredBytes>>20, mib(m.TouchedBytes), mib(m.VMMOverheadBytes), mib(m.HWMBytes))
	if rep := r.Report; rep != nil {
		fmt.Fprintf(w, "guest:    kernel %s, %d CPU(s)", rep.KernelRelease, rep.CPUs)
		if rep.MemTotalKB != nil {
			fmt.Fprintf(w, ", MemTotal %d KiB", *rep.MemTotalKB)
		}
		if rep.UptimeSec != nil {
			fmt.Fprintf(w, ", probe started at guest uptime %.3f s", *rep.UptimeSec)
		}
		fmt.Fprintf(w, "\n          boot_id %s\n", rep.BootID)
	} else {
		fmt.Fprintf(w, "guest:    no READY line seen\n")
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

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

// diskFlags collects --disk IMG[,ro] flags in order. Its String joins them
// with ";" and Set splits on it, so that the rebuilt command line that
// carries a command into L1 (one --disk=... for all) means the same.
type diskFlags []hypervisor.Disk

func (d *diskFlags) String() string {
	var parts []string
	for _, x := range *d {
		if x.ReadOnly {
			parts = append(parts, x.Path+",ro")
		} else {
			parts = append(parts, x.Path)
		}
	}
	return strings.Join(parts, ";")
}

func (d *diskFlags) Set(v string) error {
	for _, one := range strings.Split(v, ";") {
		path, opt, found := strings.Cut(one, ",")
		switch {
		case path == "":
			return fmt.Errorf("no image path in %q", one)
		case found && opt != "ro":
			return fmt.Errorf("%q: the only option is ro", one)
		}
		*d = append(*d, hypervisor.Disk{Path: path, ReadOnly: found})
	}
	return nil
}

// intoL1 points each disk at the copy nested mode puts into L1 and returns
// the copies to make. Writes in L1 stay there: the image on the host is
// not changed by a nested run.
func (d *diskFlags) intoL1() []nested.File {
	var files []nested.File
	for i := range *d {
		dst := fmt.Sprintf("/extra/disks/%d-%s", i, filepath.Base((*d)[i].Path))
		files = append(files, nested.File{Src: (*d)[i].Path, Dst: dst})
		(*d)[i].Path = dst
	}
	return files
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/hypervisor/vmm"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/nested"
)

// processStart is as close to the process's start as Go lets us get: package
// variables are initialised before main runs.
var processStart = time.Now()

func vmCmd() *cobra.Command {
	var (
		v                     vmFlags
		cmdline               string
		timeout               time.Duration
		jsonOut, quiet, stdin bool
		disks                 diskFlags
		tap, id, hostname     string
		nf                    netFlags
	)
	cmd := &cobra.Command{
		Use:   "vm",
		Short: "Boot the guest under twinboot's own KVM hypervisor",
		Long: "Boot the guest as a VM under twinboot's own KVM hypervisor, in a VMM process of its own,\n" +
			"and report what it measured.",
		Args: noArgs,
	}
	fs := cmd.Flags()
	v.add(fs, "the lab kernel's bzImage from 'make guest'; --initrd none for no initrd")
	fs.StringVar(&cmdline, "cmdline", hypervisor.DefaultCmdline, "kernel command line")
	fs.DurationVar(&timeout, "timeout", hypervisor.DefaultTimeout, "give up after this long (0: never)")
	fs.BoolVar(&jsonOut, "json", false, "print events and the result as JSON lines on stdout")
	fs.BoolVar(&quiet, "quiet", false, "do not copy the guest console to stderr")
	fs.BoolVar(&stdin, "stdin", false, "feed standard input to the guest's serial port (with twinboot.mode=shell on the command line)")
	fs.Var(&disks, "disk", "raw disk image as a virtio-blk disk, IMG or IMG,ro; repeat for /dev/vda, /dev/vdb, ... (in nested mode the VM gets a copy)")
	fs.StringVar(&tap, "tap", "", "attach the guest's eth0 (virtio-net) to this existing TAP device")
	fs.StringVar(&id, "id", "", "the VM's ID; eth0's MAC address is derived from it")
	nf.add(fs, "boot the VM")
	nf.addPeer(fs, "the lab container")
	fs.StringVar(&hostname, "hostname", "", "with --net: the VM's hostname (default "+compare.VMHostname+"; set by the kernel's ip= word)")
	mode := modeFlag(fs, host.ModeAuto, "")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		// Checked here, before nested mode boots a machine to find out.
		if err := hypervisor.CheckResources(v.mem.bytes, v.cpus, timeout); err != nil {
			return usageError{err}
		}
		// A file that is not a kernel is named for what it is, here, not
		// after an L1 boot; "none" is vm's word for no initramfs.
		initrd := v.initrd
		if initrd == "none" {
			initrd = ""
		}
		if err := hypervisor.CheckKernel(v.kernel, initrd); err != nil {
			return usageError{err}
		}
		if err := nf.check(); err != nil {
			return err
		}
		if nf.on && tap != "" {
			return usagef("--net makes the VM's NIC: no --tap with it")
		}
		if hostname != "" && !nf.on {
			return usagef("--hostname needs --net")
		}
		// Without hardware KVM, run this same command inside nested mode's
		// L1 machine and relay its output; with --stdin, what this process
		// reads goes into L1 too.
		decision, done, err := relayNested(cmd, args, *mode, relayInput{stdin: stdin})
		if done {
			return err
		}
		kernel, initrd := v.kernel, v.initrd
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
			Kernel: kernel, Initrd: initrd, Cmdline: cmdline, MemBytes: v.mem.bytes,
			CPUs: v.cpus, Timeout: timeout, Start: processStart,
			Emulated: decision.Emulated(),
			Disks:    disks, ID: id,
		}
		if tap != "" {
			cfg.NICs = []hypervisor.NIC{{TAP: tap}}
		}
		stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
		if !quiet && !jsonOut {
			cfg.Console = stderr
		}
		if stdin {
			cfg.Input = os.Stdin
		}
		if jsonOut {
			cfg.Events = func(ev event.Event) { event.Write(stdout, ev) }
		}
		// Inside L1, the events also travel to the host's twinboot.
		cfg.Events = nested.Tee(cfg.Events, nested.EventTap())
		run := func(ctx context.Context, cfg hypervisor.Config) (hypervisor.Result, error) { return vmm.Run(ctx, cfg) }
		if nf.on {
			on, err := nf.onNet(func(n compare.NetInfo) { fmt.Fprintf(stderr, "twinboot: %s\n", n) })
			if err != nil {
				return err
			}
			run = func(ctx context.Context, cfg hypervisor.Config) (hypervisor.Result, error) {
				return compare.VMOnNet(ctx, cfg, hostname, on)
			}
		}
		return runVM(run, cfg, jsonOut, stdout, stderr)
	}
	return cmd
}

func runVM(run func(context.Context, hypervisor.Config) (hypervisor.Result, error), cfg hypervisor.Config, jsonOut bool, stdout, stderr io.Writer) error {
	res, runErr := run(context.Background(), cfg)
	if res.Reason == "" && runErr != nil {
		// The VM was never made (hypervisor.New's error).
		if jsonOut {
			event.Write(stdout, event.Failure{Side: event.VM, Err: runErr.Error()})
		}
		return runErr
	}
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
		return exitError{code: code}
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
	fmt.Fprintf(w, "\nmemory:   configured %d MiB, touched %.1f MiB, VMM overhead %.1f MiB (peak RSS of the VMM process %.1f MiB)\n",
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

func (d *diskFlags) Type() string { return "IMG[,ro]" }

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

package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/twinboot/twinboot/density"
	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/outfile"
	"github.com/twinboot/twinboot/lab"
	"github.com/twinboot/twinboot/nested"
)

// L1's own needs besides the fleet: its kernel, its initramfs (twinboot,
// the guest artefacts) held in RAM, and the page cache of the files the
// instances run. The lab machine is given at least defaultL1MemMB.
const (
	l1BaseMB       = 384
	defaultL1MemMB = 1024
	// hostReserveMB is what this host keeps besides the lab machine.
	hostReserveMB = 256
)

// densityFlags are the experiment's own flags, in a flag set of their own:
// it is what the twinboot inside L1 is given again.
type densityFlags struct {
	fs    *pflag.FlagSet
	opt   density.Options
	vmMem size
}

func newDensityFlags() *densityFlags {
	d := &densityFlags{fs: pflag.NewFlagSet("density", pflag.ContinueOnError), vmMem: size{bytes: density.DefaultVMMem}}
	fs, opt := d.fs, &d.opt
	fs.IntVar(&opt.VMs, "vms", 4, "VMs at the largest step, each in its own VMM process (0: no VMs)")
	fs.IntVar(&opt.Containers, "containers", 16, "containers at the largest step, each in its own cgroup (0: no containers)")
	fs.IntSliceVar(&opt.Steps, "steps", []int{1, 2, 4}, "relative fleet sizes, ascending: step s runs ceil(vms*s/last) VMs and ceil(containers*s/last) containers")
	fs.DurationVar(&opt.Window, "window", density.DefaultWindow, "how long each step's fleet stays up and idle (CPU measured over it, memory at its end)")
	fs.Var(&d.vmMem, "mem", "each VM's guest RAM (K, M or G suffix); mapped lazily, a VM costs what its guest touches")
	fs.DurationVar(&opt.Timeout, "timeout", density.DefaultTimeout, "bound on one kind's start in one step (all READY)")
	fs.BoolVar(&opt.KSM, "ksm", false, "turn on the kernel's same-page merging for the VMs' guest RAM at the largest step and measure what it gives back")
	return d
}

func densityCmd() *cobra.Command {
	d := newDensityFlags()
	fs := d.fs
	var format, out string
	l1Mem := size{}
	var l1CPUs int
	cmd := &cobra.Command{
		Use:   "density [--vms N] [--containers M] [--steps 1,2,4] [--window 5s] [--format table|json|csv] [--out FILE]",
		Short: "Density: N VMs against M containers at once, memory and time against N",
		Long: "Start N VMs (each in its own VMM process) and M containers (each in its own cgroup) at once,\n" +
			"wait until all are READY, keep them idle for a window, stop them all; repeat for each step.\n" +
			"Measured per step and kind: time to the first and the last READY, memory in total and per\n" +
			"instance, CPU used while idle, the host's MemAvailable before and during, and the cost of one\n" +
			"more instance fitted over the steps. `twinboot chart` draws the curves from --format json.",
		Args: noArgs,
	}
	cmd.Flags().AddFlagSet(fs)
	mode := modeFlag(cmd.Flags(), host.ModeAuto, "; nested runs the whole experiment there")
	cmd.Flags().StringVar(&format, "format", "table", "table, json (schema "+density.Schema+") or csv (one row per step and kind)")
	cmd.Flags().StringVar(&out, "out", "", "write the results to this file (the table still goes to stdout)")
	cmd.Flags().Var(&l1Mem, "l1-mem", "nested mode: the lab machine's RAM (default: enough for the largest step, at least 1G)")
	cmd.Flags().IntVar(&l1CPUs, "l1-cpus", 1, "nested mode: the lab machine's vCPUs (more than 1 uses multi-threaded TCG)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		opt := d.opt
		opt.VMMemBytes = d.vmMem.bytes
		write, err := densityWriter(format)
		if err != nil {
			return err
		}
		if out != "" {
			if err := outfile.Check(out); err != nil {
				return usagef("--out: %v", err)
			}
		}
		if err := opt.Validate(); err != nil {
			return usageError{err}
		}
		if l1CPUs < 1 {
			return usagef("--l1-cpus %d: the lab machine needs at least one vCPU", l1CPUs)
		}
		d, err := host.Decide(*mode)
		if err != nil {
			return usageError{err}
		}
		ctx, stop := signalContext()
		defer stop()
		status := newStatusLine(cmd.ErrOrStderr())
		defer status.done()
		var res density.Results
		// Containers need no KVM: a fleet of containers alone runs on this
		// host unless nested mode is asked for.
		ctOnly := opt.VMs == 0 && *mode != host.ModeNested
		if d.Mode == host.ModeNested && !host.InsideL1() && !ctOnly {
			memMB, err := l1MemFor(opt, l1Mem.bytes)
			if err != nil {
				return usageError{err}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "twinboot: mode nested: %s; the lab machine gets %d MiB\n", d.Reason, memMB)
			res, err = densityInL1(ctx, fs, opt, nested.Options{MemMB: memMB, CPUs: l1CPUs}, status.sink)
			if res.Schema == "" {
				return interrupted(ctx, cmd.ErrOrStderr(), err)
			}
			if werr := writeDensity(out, cmd.OutOrStdout(), cmd.ErrOrStderr(), res, write); werr != nil {
				return werr
			}
			return interrupted(ctx, cmd.ErrOrStderr(), err)
		}
		if avail, err := host.MemAvailable(); err == nil {
			if err := opt.Fits(avail, "this machine"); err != nil {
				return usageError{err}
			}
		}
		a, err := guest.Load(guest.BuildDir())
		if err != nil {
			return err
		}
		opt.Guest = a
		opt.Mode, opt.Emulated = lab.Where(d)
		if ctOnly && !host.InsideL1() {
			opt.Mode, opt.Emulated = host.ModeNative, false
		}
		res, err = density.Run(ctx, opt, nested.Tee(nested.EventTap(), status.sink))
		if res.Schema == "" {
			return interrupted(ctx, cmd.ErrOrStderr(), err)
		}
		if werr := writeDensity(out, cmd.OutOrStdout(), cmd.ErrOrStderr(), res, write); werr != nil {
			return werr
		}
		return interrupted(ctx, cmd.ErrOrStderr(), err)
	}
	return cmd
}

// densityWriter picks the writer for --format, before anything is measured.
func densityWriter(format string) (func(io.Writer, density.Results) error, error) {
	switch format {
	case "table":
		return density.WriteTable, nil
	case "json":
		return density.WriteJSON, nil
	case "csv":
		return density.WriteCSV, nil
	}
	return nil, usagef("unknown format %q (want table, json or csv)", format)
}

// writeDensity writes to path (whole or not at all), or to stdout; with a
// path the table still goes to stdout, for the student watching.
func writeDensity(path string, stdout, stderr io.Writer, res density.Results, write func(io.Writer, density.Results) error) error {
	if err := writeFile(path, stdout, func(w io.Writer) error { return write(w, res) }); err != nil {
		return err
	}
	if path != "" {
		if err := density.WriteTable(stdout, res); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "twinboot density: results in %s\n", path)
	}
	return nil
}

// l1MemFor sizes the lab machine for opt's largest step: asked (bytes, 0
// for the default) must fit it, and this host must have the memory for it.
func l1MemFor(opt density.Options, asked uint64) (int, error) {
	needMB := int((opt.NeedBytes()+(1<<20)-1)>>20) + l1BaseMB + 64
	memMB := max(defaultL1MemMB, (needMB+255)/256*256)
	if asked > 0 {
		memMB = int(asked >> 20)
		if err := opt.Fits(uint64(max(memMB-l1BaseMB, 0))<<20, fmt.Sprintf("a lab machine of --l1-mem %d MiB (less %d MiB for itself)", memMB, l1BaseMB)); err != nil {
			return 0, err
		}
	}
	if avail, err := host.MemAvailable(); err == nil && uint64(memMB+hostReserveMB)<<20 > avail {
		return 0, fmt.Errorf("%w: the lab machine needs %d MiB and this host has %d MiB available (%d MiB kept in reserve): start fewer instances or give the VMs less --mem",
			density.ErrTooLarge, memMB, avail>>20, hostReserveMB)
	}
	return memMB, nil
}

// densityInL1 runs the same density experiment in a lab machine booted
// with lo: the flags of fs, as set on this command line.
func densityInL1(ctx context.Context, fs *pflag.FlagSet, opt density.Options, lo nested.Options, sink event.Sink) (density.Results, error) {
	inner, _ := innerArgs(fs) // density names no host file
	args := append([]string{"density", "--format=json"}, inner...)
	return lab.DensityInL1(ctx, lo, nested.Job{Args: args, Timeout: densityTimeout(opt)}, sink)
}

// densityTimeout bounds the whole run in L1: its boot, and per step both
// kinds' starts, the window and the stop.
func densityTimeout(opt density.Options) time.Duration {
	steps := len(opt.Plan())
	return 5*time.Minute + time.Duration(steps)*(2*opt.Timeout+opt.Window+time.Minute)
}

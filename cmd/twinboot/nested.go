package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/nested"
)

func nestedCmd() *cobra.Command {
	var (
		opt     nested.Options
		timeout time.Duration
		console bool
		events  string
	)
	cmd := &cobra.Command{
		Use:   "nested",
		Short: "Run twinboot inside the emulated AMD-V lab machine (L1)",
		Long: "Run twinboot inside an emulated AMD-V machine (L1) under QEMU.\n\n" +
			"  nested build                 fetch L1's kernel and build its initramfs (cached)\n" +
			"  nested run  -- <args>        run `twinboot <args>` in L1 and relay its output\n" +
			"  nested exec -- <path> <args> run any static program in L1 (e.g. /bin/sh -c …)\n\n" +
			"Every figure measured in L1 is emulated.",
	}
	fs := cmd.PersistentFlags()
	fs.IntVar(&opt.CPUs, "cpus", 1, "L1 vCPUs (more than 1 uses multi-threaded TCG)")
	fs.IntVar(&opt.MemMB, "mem", 1024, "L1 RAM in MiB")
	fs.DurationVar(&timeout, "timeout", 15*time.Minute, "give up (and kill QEMU) after this long")
	fs.DurationVar(&opt.BootTimeout, "boot-timeout", 3*time.Minute, "give up if L1 is not ready after this long")
	fs.StringVar(&opt.QEMU, "qemu", "qemu-system-x86_64", "QEMU program")
	fs.StringVar(&opt.Kernel, "l1-kernel", "", "boot this kernel image as L1 instead of Debian's (modules still Debian's)")
	fs.StringVar(&opt.Binary, "binary", "", "static twinboot to run in L1 (default: this one, or build/bin/twinboot)")
	fs.StringVar(&opt.Machine, "machine", "pc", "QEMU machine type for L1 (microvm hung early in 2 of 6 boots here)")
	fs.StringVar(&opt.BIOS, "bios", "", "QEMU firmware for L1, e.g. /usr/share/qemu/qboot.rom (default: QEMU's SeaBIOS)")
	fs.StringVar(&opt.Append, "append", "", "extra L1 kernel command line")
	fs.BoolVar(&console, "console", false, "copy L1's serial console to stderr")
	fs.Func("file", "put a host file into L1: SRC[:DST] (default DST /extra/<name>); repeatable,\ne.g. --file hypervisor.test then exec -- /extra/hypervisor.test -test.v", func(v string) error {
		src, dst, _ := strings.Cut(v, ":")
		if src == "" {
			return fmt.Errorf("empty source in %q", v)
		}
		opt.Extra = append(opt.Extra, nested.File{Src: src, Dst: dst})
		return nil
	})
	fs.StringVar(&events, "events", "", "write the inner command's events as JSON lines to this file (- for stdout)")

	// prepare completes opt from the flags, for every subcommand.
	prepare := func(cmd *cobra.Command) nested.Options {
		o := opt
		if console {
			o.Console = cmd.ErrOrStderr()
		}
		o.Sink = logSink(cmd.ErrOrStderr())
		return o
	}
	build := &cobra.Command{
		Use:   "build",
		Short: "Fetch L1's kernel and build its initramfs (cached)",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("nested build takes no arguments")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext()
			defer stop()
			m, err := nested.Prepare(ctx, prepare(cmd))
			if err != nil {
				return err
			}
			defer m.Close()
			g := "no guest artefacts (run 'make guest' first to include them)"
			if m.Guest != nil {
				g = "guest " + m.Guest.Key
			}
			fmt.Fprintf(cmd.OutOrStdout(), "L1 ready to boot: kernel %s %s, initramfs %s, %s\n", m.Kernel.Package, m.Kernel.Version, m.Initramfs, g)
			return nil
		},
	}
	job := func(exec bool) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 || (exec && args[0] == "") {
				return usagef("nested %s needs a command after --", cmd.Name())
			}
			ctx, stop := signalContext()
			defer stop()
			j := nested.Job{Args: args, Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(), Timeout: timeout}
			if exec {
				j.Path, j.Args = args[0], args[1:]
			}
			if events != "" {
				w, closeFn, err := openEvents(events, cmd.OutOrStdout())
				if err != nil {
					return err
				}
				defer closeFn()
				j.Sink = func(ev event.Event) { event.Write(w, ev) }
			}
			code, err := nested.Run(ctx, prepare(cmd), j)
			if err != nil {
				return interrupted(ctx, cmd.ErrOrStderr(), err)
			}
			if code != 0 {
				return exitError{code: code}
			}
			return nil
		}
	}
	run := &cobra.Command{Use: "run [flags] -- <twinboot args>", Short: "Run `twinboot <args>` in L1 and relay its output", Args: cobra.ArbitraryArgs, RunE: job(false)}
	exec := &cobra.Command{Use: "exec [flags] -- <path> [args]", Short: "Run any static program in L1 (e.g. /bin/sh -c …)", Args: cobra.ArbitraryArgs, RunE: job(true)}
	run.Flags().SetInterspersed(false)
	exec.Flags().SetInterspersed(false)
	return group(cmd, build, run, exec)
}

func openEvents(path string, stdout io.Writer) (io.Writer, func(), error) {
	if path == "-" {
		return stdout, func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("events file: %w", err)
	}
	return f, func() { f.Close() }, nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/nested"
)

func init() {
	// L1's PID 1 is this binary, started by the kernel with
	// TWINBOOT_REEXEC=nested-init from its command line.
	reexecHooks[nested.InitHookName] = nested.InitMain

	var (
		opt     nested.Options
		timeout time.Duration
		console bool
		events  string
	)
	register(&command{
		name:  "nested",
		short: "Run twinboot inside the emulated AMD-V lab machine (L1)",
		summary: "Run twinboot inside an emulated AMD-V machine (L1) under QEMU.\n\n" +
			"  nested build                 fetch L1's kernel and build its initramfs (cached)\n" +
			"  nested run  -- <args>        run `twinboot <args>` in L1 and relay its output\n" +
			"  nested exec -- <path> <args> run any static program in L1 (e.g. /bin/sh -c …)\n\n" +
			"Every figure measured in L1 is emulated.",
		usage: "build | run [flags] -- <twinboot args> | exec [flags] -- <path> [args]",
		setup: func(fs *flag.FlagSet) {
			opt = nested.Options{} // --file appends: start afresh for every parse
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
		},
		run: func(fs *flag.FlagSet, args []string, stdout io.Writer) error {
			if len(args) == 0 {
				return fmt.Errorf("%w: nested needs a subcommand", errUsage)
			}
			// Flags may also follow the subcommand: `nested run --cpus 2 -- …`.
			sub := args[0]
			if err := fs.Parse(args[1:]); err != nil {
				return fmt.Errorf("%w: %v", errUsage, err)
			}
			rest := fs.Args()
			ctx, stop := signalContext()
			defer stop()
			opt.Timeout = timeout
			opt.Stderr = fs.Output()
			if console {
				opt.Console = fs.Output()
			}
			opt.Sink = logSink(fs.Output())
			switch sub {
			case "build":
				if len(rest) > 0 {
					return fmt.Errorf("%w: nested build takes no arguments", errUsage)
				}
				m, err := nested.Prepare(ctx, opt)
				if err != nil {
					return err
				}
				defer m.Close()
				g := "no guest artefacts (run 'make guest' first to include them)"
				if m.Guest != nil {
					g = "guest " + m.Guest.Key
				}
				fmt.Fprintf(stdout, "L1 ready to boot: kernel %s %s, initramfs %s, %s\n", m.Kernel.Package, m.Kernel.Version, m.Initramfs, g)
				return nil
			case "run", "exec":
				if len(rest) == 0 || (sub == "exec" && rest[0] == "") {
					return fmt.Errorf("%w: nested %s needs a command after --", errUsage, sub)
				}
				job := nested.Job{Args: rest, Stdout: stdout, Stderr: fs.Output()}
				if sub == "exec" {
					job.Path, job.Args = rest[0], rest[1:]
				}
				if events != "" {
					w, closeFn, err := openEvents(events, stdout)
					if err != nil {
						return err
					}
					defer closeFn()
					job.Sink = func(ev event.Event) { event.Write(w, ev) }
				}
				code, err := runNestedJob(ctx, opt, job)
				if err != nil {
					return err
				}
				if code != 0 {
					return exitError{code}
				}
				return nil
			default:
				return fmt.Errorf("%w: unknown nested subcommand %q", errUsage, sub)
			}
		},
	})
}

// runNestedJob boots L1, runs one job and relays it; Ctrl-C or SIGTERM (via
// ctx) kills QEMU and removes temporary files before returning.
func runNestedJob(ctx context.Context, opt nested.Options, job nested.Job) (int, error) {
	if opt.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opt.Timeout)
		defer cancel()
	}
	m, err := nested.Prepare(ctx, opt)
	if err != nil {
		return -1, err
	}
	defer m.Close()
	s, err := m.Boot(ctx)
	if err != nil {
		return -1, interrupted(err)
	}
	defer s.Close()
	code, err := s.Run(ctx, job)
	return code, interrupted(err)
}

// interrupted turns a cancellation by Ctrl-C or SIGTERM into the shell's
// usual status 130, after the cleanup has run.
func interrupted(err error) error {
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "twinboot: %v\n", err)
		return exitError{130}
	}
	return err
}

// signalContext is cancelled by SIGINT or SIGTERM, so that deferred cleanup
// (killing QEMU, removing temporary files) runs instead of an abrupt exit.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// logSink prints Log and Failure events as plain lines.
func logSink(w io.Writer) event.Sink {
	return func(ev event.Event) {
		switch e := ev.(type) {
		case event.Log:
			fmt.Fprintf(w, "%s\n", e.Msg)
		case event.Failure:
			fmt.Fprintf(w, "failure: %s\n", e.Err)
		}
	}
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

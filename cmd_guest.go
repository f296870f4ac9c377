package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/twinboot/twinboot/guest"
)

func init() {
	var (
		probe   *string
		busybox *string
		jobs    *int
		asJSON  *bool
	)
	register(&command{
		name:  "guest",
		short: "Build the guest kernel, rootfs and initramfs, or show them",
		summary: "Build the guest (kernel, probe rootfs, initramfs) or show where it is.\n" +
			"  build: build or reuse the lab kernel, the rootfs and the initramfs; write the manifest\n" +
			"  info:  show the artefacts, their sizes, the kernel release and the config key",
		usage: "build [--probe PATH] [--busybox PATH] [--jobs N] | info [--json]",
		setup: func(fs *flag.FlagSet) {
			probe = fs.String("probe", "", "build: the static probe binary (default: <build>/bin/probe)")
			busybox = fs.String("busybox", guest.DefaultBusybox, "build: static busybox to put in the rootfs")
			jobs = fs.Int("jobs", 0, "build: parallel make jobs (default: number of CPUs)")
			asJSON = fs.Bool("json", false, "info: print the manifest as JSON")
		},
		run: func(fs *flag.FlagSet, args []string, stdout io.Writer) error {
			if len(args) == 0 {
				return fmt.Errorf("%w: guest needs a subcommand: build or info", errUsage)
			}
			sub := args[0]
			// Flags may also follow the subcommand: parse what is left.
			if err := fs.Parse(args[1:]); err != nil {
				if errors.Is(err, flag.ErrHelp) {
					return nil // fs.Parse printed the usage
				}
				return fmt.Errorf("%w: %v", errUsage, err)
			}
			if fs.NArg() > 0 {
				return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
			}
			switch sub {
			case "build":
				if *asJSON {
					return fmt.Errorf("%w: --json is for guest info", errUsage)
				}
				return guestBuild(*probe, *busybox, *jobs, fs.Output(), stdout)
			case "info":
				if *probe != "" || *jobs != 0 {
					return fmt.Errorf("%w: --probe and --jobs are for guest build", errUsage)
				}
				return guestInfo(*asJSON, stdout)
			}
			return fmt.Errorf("%w: unknown guest subcommand %q (want build or info)", errUsage, sub)
		},
	})
}

func guestBuild(probe, busybox string, jobs int, progress, stdout io.Writer) error {
	buildDir := guest.BuildDir()
	if probe == "" {
		probe = filepath.Join(buildDir, "bin", "probe")
		if _, err := os.Stat(probe); err != nil {
			return fmt.Errorf("no probe at %s: build it with 'make guest' or pass --probe", probe)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := guest.Build(ctx, guest.BuildSpec{
		BuildDir: buildDir,
		Probe:    probe,
		Busybox:  busybox,
		Kernel:   guest.KernelSpec{Jobs: jobs},
		Progress: progress,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "guest ready: kernel %s (%s), manifest %s\n", a.KernelRelease, a.Key,
		filepath.Join(buildDir, "guest", guest.ManifestName))
	return nil
}

func guestInfo(asJSON bool, stdout io.Writer) error {
	a, err := guest.Load(guest.BuildDir())
	if err != nil {
		return err // ErrNotBuilt says to run make guest
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(a)
	}
	fmt.Fprintf(stdout, "kernel release  %s\n", a.KernelRelease)
	fmt.Fprintf(stdout, "config key      %s (linux-source-6.1 %s)\n", a.Key, a.SourceVersion)
	for _, f := range []struct{ name, path string }{
		{"bzImage", a.BzImage},
		{"vmlinux", a.Vmlinux},
		{"config", a.Config},
		{"initramfs", a.Initramfs},
		{"probe", a.Probe},
		{"rootfs", a.Rootfs},
	} {
		fmt.Fprintf(stdout, "%-15s %s  %s\n", f.name, size(f.path), f.path)
	}
	return nil
}

// size renders a file's size, or a directory's total, for people.
func size(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return "missing"
	}
	n := st.Size()
	if st.IsDir() {
		n = 0
		filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if i, err := d.Info(); err == nil {
					n += i.Size()
				}
			}
			return nil
		})
	}
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%7.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%7.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%7d B  ", n)
}

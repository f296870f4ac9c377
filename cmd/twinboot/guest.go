package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/twinboot/twinboot/guest"
)

func guestCmd() *cobra.Command {
	return group(&cobra.Command{
		Use:   "guest",
		Short: "Build the guest kernel, rootfs and initramfs, or show them",
		Long: "Build the guest (kernel, probe rootfs, initramfs) or show where it is.\n" +
			"  build: build or reuse the lab kernel, the rootfs and the initramfs; write the manifest\n" +
			"  info:  show the artefacts, their sizes, the kernel release and the config key\n" +
			"  install: copy the current guest into a directory (make install uses it)",
	}, guestBuildCmd(), guestInfoCmd(), guestInstallCmd())
}

func guestInstallCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "install DIR",
		Short: "Copy the current guest into DIR/guest, with a manifest relative to itself",
		Long: "Copy the current guest (kernel, vmlinux, config, rootfs, initramfs; not older builds nor the\n" +
			"kernel's build tree) into DIR/guest. 'make install' puts it in PREFIX/lib/twinboot, where an\n" +
			"installed twinboot looks from any directory.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("install needs one directory, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			made, err := guest.Install(guest.BuildDir(), args[0])
			for _, p := range made {
				fmt.Fprintln(cmd.OutOrStdout(), p)
			}
			return err
		},
	}
}

func guestBuildCmd() *cobra.Command {
	var (
		probe, busybox string
		jobs           int
	)
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build or reuse the lab kernel, the rootfs and the initramfs",
		Args:  noArgs,
	}
	cmd.Flags().StringVar(&probe, "probe", "", "the static probe binary (default: <build>/bin/probe)")
	cmd.Flags().StringVar(&busybox, "busybox", guest.DefaultBusybox, "static busybox to put in the rootfs")
	cmd.Flags().IntVar(&jobs, "jobs", 0, "parallel make jobs (default: number of CPUs)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		buildDir := guest.BuildDir()
		if probe == "" {
			probe = filepath.Join(buildDir, "bin", "probe")
			if _, err := os.Stat(probe); err != nil {
				return fmt.Errorf("no probe at %s: build it with 'make guest' or pass --probe", probe)
			}
		}
		ctx, stop := signalContext()
		defer stop()
		a, err := guest.Build(ctx, guest.BuildSpec{
			BuildDir: buildDir,
			Probe:    probe,
			Busybox:  busybox,
			Kernel:   guest.KernelSpec{Jobs: jobs},
			Progress: cmd.ErrOrStderr(),
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "guest ready: kernel %s (%s), manifest %s\n", a.KernelRelease, a.Key,
			filepath.Join(buildDir, "guest", guest.ManifestName))
		return nil
	}
	return cmd
}

func guestInfoCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show the artefacts, their sizes, the kernel release and the config key",
		Args:  noArgs,
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the manifest as JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return guestInfo(asJSON, cmd.OutOrStdout())
	}
	return cmd
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
		fmt.Fprintf(stdout, "%-15s %s  %s\n", f.name, sizeOf(f.path), f.path)
	}
	return nil
}

// sizeOf renders a file's size, or a directory's total, for people.
func sizeOf(path string) string {
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

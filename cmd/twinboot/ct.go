package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/container/runtime"
	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/internal/host"
)

func ctCmd() *cobra.Command {
	subs := []*cobra.Command{ctRunCmd(), ctSpecCmd()}
	subs = append(subs, ctRuntimeCmds()...)
	return group(&cobra.Command{
		Use:   "ct",
		Short: "Run the probe (or a command) in twinboot's container runtime",
		Long: "Run the workload in twinboot's own container runtime, or write an OCI bundle config.\n\n" +
			"  ct run   runs a container (default: the lab rootfs with the probe, /init --mode exit)\n" +
			"  ct spec  prints a config.json for a rootfs; runc and crun run it too\n" +
			"  ct create|start|state|kill|delete|list|exec\n" +
			"           the OCI runtime command line, as runc spells it (also build/bin/twinboot-runtime,\n" +
			"           the one path an engine is given); runc's global flags (--root, --log,\n" +
			"           --log-format, --debug) may follow the verb\n\n" +
			"Needs root.",
	}, subs...)
}

// ctRuntimeCmds are the OCI verbs: each hands its whole command line to the
// runtime's own parser (container/runtime), which speaks runc's flags.
func ctRuntimeCmds() []*cobra.Command {
	var cmds []*cobra.Command
	for _, v := range runtime.Verbs() {
		verb, short := v[0], v[1]
		if verb == "run" {
			continue // `ct run` is twinboot's own, above; twinboot-runtime run is runc's
		}
		cmds = append(cmds, &cobra.Command{
			Use:                verb + " [runc flags] ...",
			Short:              short + " (OCI runtime command line)",
			DisableFlagParsing: true,
			RunE: func(cmd *cobra.Command, args []string) error {
				if code := runtime.MainVerb("twinboot ct", verb, args, os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr()); code != 0 {
					return exitError{code: code}
				}
				return nil
			},
		})
	}
	return cmds
}

// ctRunFlags are the flags of `twinboot ct run`.
type ctRunFlags struct {
	bundle, rootfs, hostname string
	mem                      size
	pids                     int64
	cpus                     float64
	userns, json, readOnly   bool
	timeout                  time.Duration
	capAdd                   listFlag
	net                      netFlags
}

// listFlag is a flag that may be given several times, each value a
// comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}
func (l *listFlag) Type() string { return "list" }

const capAddUsage = "give the container a capability back (e.g. NET_RAW, SYS_ADMIN, ALL; repeatable or comma-separated);\n" +
	"by default it keeps only runc's three: AUDIT_WRITE, KILL, NET_BIND_SERVICE"

func ctRunCmd() *cobra.Command {
	f := ctRunFlags{mem: size{allowZero: true}}
	cmd := &cobra.Command{
		Use:   "run [--bundle DIR | --rootfs DIR] [flags] [-- CMD ARGS]",
		Short: "Run a container: the lab's probe, or CMD in a rootfs or an OCI bundle",
		Args:  cobra.ArbitraryArgs,
	}
	fs := cmd.Flags()
	fs.SetInterspersed(false) // flags end at the container's command
	fs.StringVar(&f.bundle, "bundle", "", "OCI bundle directory (config.json and its root)")
	fs.StringVar(&f.rootfs, "rootfs", "", "root directory to run without a bundle (default: the lab rootfs from 'make guest')")
	// In nested mode the container runs in L1: the directories go with it.
	fs.SetAnnotation("bundle", fileFlag, []string{"true"})
	fs.SetAnnotation("rootfs", fileFlag, []string{"true"})
	fs.Var(&f.mem, "mem", "memory limit, e.g. 64M (default: none)")
	fs.Int64Var(&f.pids, "pids", 0, "maximum number of processes (default: none)")
	fs.Float64Var(&f.cpus, "cpu", 0, "CPU quota in cores, e.g. 0.5 (default: none)")
	fs.StringVar(&f.hostname, "hostname", "", "container hostname (default: the config's, else "+container.DefaultHostname+")")
	fs.Var(&f.capAdd, "cap-add", capAddUsage)
	fs.BoolVar(&f.userns, "userns", false, "add a user namespace (container root is an unprivileged host uid)")
	fs.BoolVar(&f.readOnly, "read-only", false, "with --rootfs or the lab rootfs: a read-only root, no overlay (for kernels without overlayfs)")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "kill the container after this long (0: never)")
	fs.BoolVar(&f.json, "json", false, "print one JSON document (the result, or {\"error\":…}) instead of text")
	f.net.add(fs, "run the container")
	f.net.addPeer(fs, "the lab VM")
	mode := modeFlag(fs, host.ModeNative, ";\nin nested mode stdin is relayed, a terminal gets a pty there and Ctrl-] ends;\n"+
		"a container needs no KVM, so native is the default")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
		if err := f.check(); err != nil {
			if f.json {
				json.NewEncoder(stdout).Encode(map[string]string{"error": err.Error()})
				return exitError{code: exitUsage}
			}
			return err
		}
		if err := f.net.check(); err != nil {
			return err
		}
		if *mode != host.ModeNative {
			// In L1 the kernel has no overlayfs module unless the lab
			// machine ships one: pass --read-only for the lab rootfs there.
			if _, done, err := relayNested(cmd, args, *mode, relayInput{stdin: true, tty: true}); done {
				return err
			}
		}
		spec, err := f.spec(args)
		if err == nil {
			// The container's output is the command's output, except with
			// --json, where stdout carries exactly one JSON document.
			spec.Stdout, spec.Stderr, spec.Stdin = stdout, stderr, os.Stdin
			if f.json {
				spec.Stdout = stderr
			}
			spec.ForwardSignals = true
			var res container.Result
			if f.net.on {
				var on compare.OnNet
				if on, err = f.net.onNet(func(n compare.NetInfo) { fmt.Fprintf(stderr, "twinboot: %s\n", n) }); err == nil {
					res, err = compare.ContainerOnNet(context.Background(), spec, on)
				}
			} else {
				res, err = container.Run(context.Background(), spec)
			}
			if err == nil {
				return ctReport(stdout, res, f.json)
			}
		}
		if f.json {
			json.NewEncoder(stdout).Encode(map[string]string{"error": err.Error()})
			return exitError{code: exitFailure}
		}
		return err
	}
	return cmd
}

// check refuses bad flags before any work, and before an L1 boots for a
// run in nested mode.
func (f *ctRunFlags) check() error {
	if err := container.CheckLimits(int64(f.mem.bytes), f.pids, f.cpus); err != nil {
		return usageError{err}
	}
	if _, err := container.ParseCapabilities(f.capAdd); err != nil {
		return usagef("--cap-add: %v", err)
	}
	if f.pids < 0 || f.cpus < 0 {
		return usagef("--pids and --cpu must not be negative")
	}
	if f.timeout < 0 {
		return usagef("--timeout must not be negative, got %s", f.timeout)
	}
	if f.bundle != "" && f.rootfs != "" {
		return usagef("--bundle and --rootfs: give one (a bundle names its own root)")
	}
	for name, dir := range map[string]string{"bundle": f.bundle, "rootfs": f.rootfs} {
		if dir == "" {
			continue
		}
		if st, err := os.Stat(dir); err != nil {
			return usagef("--%s: %v", name, err)
		} else if !st.IsDir() {
			return usagef("--%s %s: not a directory", name, dir)
		}
	}
	return nil
}

func (f *ctRunFlags) spec(cmd []string) (container.Spec, error) {
	s := container.Spec{
		Bundle: f.bundle, Rootfs: f.rootfs, Args: cmd, Hostname: f.hostname, MemoryLimit: int64(f.mem.bytes),
		PidsLimit: f.pids, CPUs: f.cpus, UserNS: f.userns, Timeout: f.timeout, ReadOnlyRoot: f.readOnly,
		CapAdd: f.capAdd,
	}
	if s.Bundle == "" && s.Rootfs == "" {
		a, err := guest.Load(guest.BuildDir())
		if err != nil {
			return s, fmt.Errorf("no --bundle or --rootfs, and no lab rootfs: %w", err)
		}
		s.Rootfs = a.Rootfs
	}
	if s.Bundle == "" && len(s.Args) == 0 {
		s.Args = container.DefaultArgs
	}
	return s, nil
}

// ctReport prints the result and turns the container's end into the
// command's exit status: its exit code, 128+signal, or 124 for a timeout.
func ctReport(w io.Writer, res container.Result, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printCtResult(w, res)
	}
	switch {
	case res.Reason == container.ReasonTimeout:
		return exitError{code: exitTimeout}
	case res.ExitCode != 0:
		return exitError{code: res.ExitCode}
	}
	return nil
}

func printCtResult(w io.Writer, res container.Result) {
	how := fmt.Sprintf("exit code %d", res.ExitCode)
	if res.Signal != "" {
		how = "signal " + res.Signal
	}
	fmt.Fprintf(w, "container %s: %s (%s), cgroups %s\n", res.ID, res.Reason, how, res.CgroupVersion)
	fmt.Fprintf(w, "phases (host monotonic, from the start of the run):\n")
	for _, p := range res.Phases {
		fmt.Fprintf(w, "  %-16s %8.3f ms\n", p.Name, float64(p.At)/1e6)
	}
	m := res.Memory
	fmt.Fprintf(w, "memory:   cgroup peak %.1f MiB", mib(m.CgroupPeakBytes))
	if m.Sampled {
		fmt.Fprintf(w, ", RSS %.1f MiB, PSS %.1f MiB (at READY)\n", mib(m.RSSBytes), mib(m.PSSBytes))
	} else {
		fmt.Fprintf(w, ", RSS/PSS not sampled (the workload had exited)\n")
	}
	r := res.Report
	switch {
	case r == nil && res.OnTerminal:
		fmt.Fprintf(w, "probe:    its output went straight to your terminal, unread by twinboot (no report)\n")
		return
	case r == nil:
		fmt.Fprintf(w, "probe:    no READY line seen\n")
		return
	}
	fmt.Fprintf(w, "probe:    kernel %s, boot_id %s\n", r.KernelRelease, r.BootID)
	fmt.Fprintf(w, "          hostname %s, pid %d, cpus %d, interfaces %s", r.Hostname, r.PID, r.CPUs, strings.Join(r.Interfaces, ","))
	if r.Mounts != nil {
		fmt.Fprintf(w, ", mounts %d", *r.Mounts)
	}
	fmt.Fprintln(w)
	if r.MemTotalKB != nil && r.MemAvailKB != nil {
		fmt.Fprintf(w, "          MemTotal %.0f MiB, MemAvailable %.0f MiB (the host's: a container shares its kernel)\n",
			float64(*r.MemTotalKB)/1024, float64(*r.MemAvailKB)/1024)
	}
}

func ctSpecCmd() *cobra.Command {
	var (
		rootfs string
		capAdd listFlag
	)
	cmd := &cobra.Command{
		Use:   "spec [--rootfs DIR] [-- CMD ARGS] > config.json",
		Short: "Print an OCI config.json for a rootfs (runc and crun run it too)",
		Args:  cobra.ArbitraryArgs,
	}
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringVar(&rootfs, "rootfs", "", "root directory the config points at (default: the lab rootfs from 'make guest')")
	cmd.Flags().Var(&capAdd, "cap-add", capAddUsage)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		dir := rootfs
		if dir == "" {
			a, err := guest.Load(guest.BuildDir())
			if err != nil {
				return fmt.Errorf("no --rootfs and no lab rootfs: %w", err)
			}
			dir = a.Rootfs
		}
		abs, err := absDir(dir)
		if err != nil {
			return err
		}
		spec, err := container.NewSpec(abs, args, capAdd)
		if err != nil {
			return usagef("--cap-add: %v", err)
		}
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(spec)
	}
	return cmd
}

func absDir(dir string) (string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("rootfs: %w", err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("rootfs %s is not a directory", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("rootfs %s: %w", dir, err)
	}
	return abs, nil
}

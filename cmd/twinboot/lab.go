package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/density"
	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/lab"
	"github.com/twinboot/twinboot/nested"
	"github.com/twinboot/twinboot/tui"
)

// labCleanup bounds how long the lab waits, after quitting, for the engine
// to remove its VM, container, QEMU and mounts. A nested-mode run is killed
// with QEMU, so this is generous rather than tight.
const labCleanup = 2 * time.Minute

func labCmd() *cobra.Command {
	var (
		runs        int
		lang        string
		exportDir   string
		replay      string
		replayDelay time.Duration
		record      string
		noAutorun   bool
	)
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Open the TUI lab: VM and container side by side, live",
		Long: "Open the lab: the same probe booted as a VM (left) and as a container (right), live,\n" +
			"with a comparison strip, benchmarks, shells and guided lessons. Needs a terminal.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("lab takes no arguments")
			}
			return nil
		},
	}
	fs := cmd.Flags()
	mode := modeFlag(fs, host.ModeAuto, "")
	fs.IntVar(&runs, "runs", 10, "runs made by the bench key (b)")
	fs.StringVar(&lang, "lang", "en", "lessons language: en or ko (L switches)")
	fs.StringVar(&exportDir, "export", "", "where the export key (e) writes results and charts (default <build>/results/lab-<time>)")
	fs.StringVar(&replay, "replay", "", "play back a recorded event stream (JSON lines) instead of booting anything")
	fs.DurationVar(&replayDelay, "replay-delay", 40*time.Millisecond, "pause between replayed events")
	fs.StringVar(&record, "record", "", "also write every event of the session to this file (JSON lines)")
	fs.BoolVar(&noAutorun, "no-autorun", false, "do not start a run when the lab opens")
	var fleetVMs, fleetCts int
	fs.IntVar(&fleetVMs, "fleet-vms", 4, "VMs the fleet view (f) starts at once")
	fs.IntVar(&fleetCts, "fleet-containers", 8, "containers the fleet view (f) starts at once")
	var netShells bool
	fs.BoolVar(&netShells, "net", false, "the shell key (s) puts its side on a lab network with the other side serving beside it:\n"+
		"`ping twinboot-vm`, `wget -O- http://twinboot-ct:8080/` from the shells (m checks every path either way)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if lang != "en" && lang != "ko" {
			return usagef("--lang %q: want en or ko", lang)
		}
		if runs < 1 {
			return usagef("--runs must be at least 1, got %d", runs)
		}
		if err := (density.Options{VMs: fleetVMs, Containers: fleetCts}).Validate(); err != nil {
			return usagef("--fleet-vms, --fleet-containers: %v", err)
		}
		if !term.IsTerminal(os.Stdin.Fd()) || !term.IsTerminal(os.Stdout.Fd()) {
			return errors.New("the lab needs a terminal (stdin and stdout); for scripts use `twinboot run` or `twinboot bench`")
		}
		if exportDir == "" {
			exportDir = filepath.Join(guest.BuildDir(), "results", "lab-"+time.Now().Format("20060102-150405"))
		}
		opts := tui.Options{BenchRuns: runs, ExportDir: exportDir, Lang: lang, Lessons: tui.DocsLessons, AutoRun: !noAutorun,
			FleetVMs: fleetVMs, FleetContainers: fleetCts}
		ctx, stop := signalContext()
		defer stop()

		var eng lab.Engine
		var closeEngine func() error
		if replay != "" {
			evs, err := readStreamFile(replay)
			if err != nil {
				return err
			}
			eng = &lab.Replay{Source: replay, Events: evs, Delay: replayDelay}
			opts.Info = tui.Info{Mode: "replay", Replay: replay}
		} else {
			d, err := host.Decide(*mode)
			if err != nil {
				return usageError{err}
			}
			g, err := guest.Load(guest.BuildDir())
			if err != nil {
				return fmt.Errorf("%w (run `make guest` first)", err)
			}
			opts.Info = tui.Info{Mode: d.Mode, Emulated: d.Emulated(), ModeReason: d.Reason, HostKernel: compare.HostFacts().KernelRelease}
			if d.Mode == host.ModeNested {
				n := lab.NewNested(nested.Options{})
				n.NetShells = netShells
				eng, closeEngine = n, n.Close
				// The badge compares with the kernel of the machine the
				// container really runs on: L1's, not this host's.
				opts.Info.HostKernel = ""
			} else {
				m, emulated := lab.Where(d)
				eng = &lab.Native{Options: compare.Options{Guest: g, Mode: m, Emulated: emulated}, NetShells: netShells}
			}
		}
		var rec *lab.Recorder
		if record != "" {
			f, err := os.Create(record)
			if err != nil {
				return fmt.Errorf("--record: %w", err)
			}
			defer f.Close()
			rec = &lab.Recorder{Engine: eng, W: f}
			eng = rec
		}
		err := tui.Run(ctx, eng, opts, labCleanup)
		if closeEngine != nil {
			if cerr := closeEngine(); cerr != nil && err == nil {
				err = cerr
			}
		}
		if rec != nil && rec.Err() != nil && err == nil {
			err = fmt.Errorf("--record: %w", rec.Err())
		}
		return err
	}
	return cmd
}

func readStreamFile(path string) ([]event.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--replay: %w", err)
	}
	defer f.Close()
	evs, err := lab.ReadStream(f)
	if err != nil {
		return nil, fmt.Errorf("--replay %s: %w", path, err)
	}
	return evs, nil
}

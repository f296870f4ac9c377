package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/nested"
	"github.com/twinboot/twinboot/tui"
)

// labCleanup bounds how long the lab waits, after quitting, for the engine
// to remove its VM, container, QEMU and mounts. A nested-mode run is killed
// with QEMU, so this is generous rather than tight.
const labCleanup = 2 * time.Minute

func init() {
	var (
		mode        *string
		runs        int
		lang        string
		exportDir   string
		replay      string
		replayDelay time.Duration
		record      string
		inner       string
		l1Kernel    string
		noAutorun   bool
	)
	register(&command{
		name:  "lab",
		short: "Open the TUI lab: VM and container side by side, live",
		summary: "Open the lab: the same probe booted as a VM (left) and as a container (right), live,\n" +
			"with a comparison strip, benchmarks, shells and guided lessons. Needs a terminal.",
		usage: "[flags]",
		setup: func(fs *flag.FlagSet) {
			mode = addModeFlag(fs)
			fs.IntVar(&runs, "runs", 10, "runs made by the bench key (b)")
			fs.StringVar(&lang, "lang", "en", "lessons language: en or ko (L switches)")
			fs.StringVar(&exportDir, "export", "", "where the export key (e) writes results and charts (default <build>/results/lab-<time>)")
			fs.StringVar(&replay, "replay", "", "play back a recorded event stream (JSON lines) instead of booting anything")
			fs.DurationVar(&replayDelay, "replay-delay", 40*time.Millisecond, "pause between replayed events")
			fs.StringVar(&record, "record", "", "also write every event of the session to this file (JSON lines)")
			fs.BoolVar(&noAutorun, "no-autorun", false, "do not start a run when the lab opens")
			fs.StringVar(&inner, "inner", "", "internal: run the engine without a screen (run or bench), events to the nested-mode transport or stdout")
			fs.StringVar(&l1Kernel, "l1-kernel", "", "internal: the lab machine's kernel package, recorded in results")
		},
		run: func(fs *flag.FlagSet, args []string, stdout io.Writer) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: lab takes no arguments", errUsage)
			}
			ctx, stop := signalContext()
			defer stop()
			if inner != "" {
				return labInner(ctx, inner, runs, l1Kernel, stdout)
			}
			if lang != "en" && lang != "ko" {
				return fmt.Errorf("%w: --lang %q: want en or ko", errUsage, lang)
			}
			if runs < 1 {
				return fmt.Errorf("%w: --runs must be at least 1, got %d", errUsage, runs)
			}
			if !term.IsTerminal(os.Stdin.Fd()) || !term.IsTerminal(os.Stdout.Fd()) {
				return errors.New("the lab needs a terminal (stdin and stdout); for scripts use `twinboot run` or `twinboot bench`")
			}
			if exportDir == "" {
				exportDir = filepath.Join(guest.BuildDir(), "results", "lab-"+time.Now().Format("20060102-150405"))
			}
			opts := tui.Options{BenchRuns: runs, ExportDir: exportDir, Lang: lang, Lessons: tui.DocsLessons, AutoRun: !noAutorun}

			var eng tui.Engine
			var closeEngine func() error
			if replay != "" {
				evs, err := readStreamFile(replay)
				if err != nil {
					return err
				}
				r := &tui.Replay{Source: replay, Events: evs, Delay: replayDelay}
				eng = &labEngine{run: r.Run, bench: r.Bench, shell: r.Shell}
				opts.Info = tui.Info{Mode: "replay", Replay: replay}
			} else {
				d, err := nested.Decide(*mode)
				if err != nil {
					return fmt.Errorf("%w: --mode: %v", errUsage, err)
				}
				g, err := guest.Load(guest.BuildDir())
				if err != nil {
					return fmt.Errorf("%w (run `make guest` first)", err)
				}
				opts.Info = tui.Info{Mode: d.Mode, Emulated: d.Emulated(), ModeReason: d.Reason, HostKernel: compare.HostFacts().KernelRelease}
				if d.Mode == nested.ModeNested {
					n := newNestedLab(nested.Options{})
					eng, closeEngine = n, n.Close
					// The badge compares with the kernel of the machine the
					// container really runs on: L1's, not this host's.
					opts.Info.HostKernel = ""
				} else {
					eng = newNativeLab(compare.Options{Guest: g, Mode: d.Mode, Emulated: d.Emulated()})
				}
			}
			var rec *tui.Recorder
			if record != "" {
				f, err := os.Create(record)
				if err != nil {
					return fmt.Errorf("--record: %w", err)
				}
				defer f.Close()
				rec = &tui.Recorder{Engine: eng, W: f}
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
		},
	})
}

func readStreamFile(path string) ([]event.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--replay: %w", err)
	}
	defer f.Close()
	evs, err := tui.ReadStream(f)
	if err != nil {
		return nil, fmt.Errorf("--replay %s: %w", path, err)
	}
	return evs, nil
}

// labInner is the lab's engine without a screen: what the lab runs inside
// the nested-mode machine for each r or b, its events going back over the
// nested transport (or to stdout as JSON lines when run by hand).
func labInner(ctx context.Context, what string, runs int, l1Kernel string, stdout io.Writer) error {
	if what != "run" && what != "bench" {
		return fmt.Errorf("%w: --inner %q: want run or bench", errUsage, what)
	}
	if runs < 1 {
		return fmt.Errorf("%w: --runs must be at least 1, got %d", errUsage, runs)
	}
	g, err := guest.Load(guest.BuildDir())
	if err != nil {
		return err
	}
	d, err := nested.Decide(nested.ModeAuto)
	if err != nil {
		return err
	}
	opt := compare.Options{Guest: g, Mode: d.Mode, Emulated: d.Emulated(), L1Kernel: l1Kernel}
	if nested.Inside() {
		opt.Mode = nested.ModeNested
	}
	sink := nested.EventTap()
	if sink == nil {
		sink = func(ev event.Event) { event.Write(stdout, ev) }
	}
	if what == "bench" {
		opt.Runs = runs
		_, err = compare.Bench(ctx, opt, sink)
		return err
	}
	_, err = compare.RunOnce(ctx, opt, sink)
	return err
}

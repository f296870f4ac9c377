package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/twinboot/twinboot/compare"
)

func init() {
	var out, formats string
	register(&command{
		name:  "chart",
		short: "Draw SVG/PNG charts from a results file",
		summary: "Draw the charts of a results file (from `run --json` or `bench --format json`):\n" +
			"boot phases, memory, and the distribution of time to READY.",
		usage: "results.json [--out DIR] [--format svg,png]",
		setup: func(fs *flag.FlagSet) {
			fs.StringVar(&out, "out", "charts", "directory to write the charts into")
			fs.StringVar(&formats, "format", "svg,png", "svg, png or both (comma-separated)")
		},
		run: func(fs *flag.FlagSet, args []string, stdout io.Writer) error {
			if len(args) == 0 {
				return fmt.Errorf("%w: which results file? (write one with: twinboot bench --format json --out results.json)", errUsage)
			}
			// Flags may follow the file name: `chart results.json --out DIR`.
			file := args[0]
			if err := fs.Parse(args[1:]); err != nil {
				return fmt.Errorf("%w: %v", errUsage, err)
			}
			if fs.NArg() > 0 {
				return fmt.Errorf("%w: one results file at a time, got also %q", errUsage, fs.Args())
			}
			fmts, err := compare.ParseFormats(formats)
			if err != nil {
				return fmt.Errorf("%w: --format: %v", errUsage, err)
			}
			res, err := compare.ReadResultsFile(file)
			if err != nil {
				return err
			}
			files, err := compare.Charts(res, out, fmts)
			for _, f := range files {
				fmt.Fprintln(stdout, f)
			}
			return err
		},
	})
}

package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/density"
)

func chartCmd() *cobra.Command {
	var out, formats string
	cmd := &cobra.Command{
		Use:   "chart results.json [--out DIR] [--format svg,png]",
		Short: "Draw SVG/PNG charts from a results file",
		Long: "Draw the charts of a results file (from `run --json` or `bench --format json`):\n" +
			"boot phases, memory, and the distribution of time to READY; of a density results file\n" +
			"(from `density --format json`): memory against N and time to all-READY against N.",
		Args: func(_ *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return usagef("which results file? (write one with: twinboot bench --format json --out results.json)")
			case len(args) > 1:
				return usagef("one results file at a time, got also %q", args[1:])
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "charts", "directory to write the charts into")
	cmd.Flags().StringVar(&formats, "format", "svg,png", "svg, png or both (comma-separated)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		fmts, err := compare.ParseFormats(formats)
		if err != nil {
			return usagef("--format: %v", err)
		}
		files, err := charts(args[0], out, fmts)
		for _, f := range files {
			fmt.Fprintln(cmd.OutOrStdout(), f)
		}
		return err
	}
	return cmd
}

// charts draws the charts of a results file: a density one, or a run's or
// bench's.
func charts(path, dir string, formats []string) ([]string, error) {
	if b, err := os.ReadFile(path); err == nil && density.IsResults(b) {
		res, err := density.ReadResultsFile(path)
		if err != nil {
			return nil, err
		}
		return density.Charts(res, dir, formats)
	}
	res, err := compare.ReadResultsFile(path)
	if err != nil {
		return nil, err
	}
	return compare.Charts(res, dir, formats)
}

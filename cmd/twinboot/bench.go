package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/outfile"
)

func benchCmd() *cobra.Command {
	e := newExperimentFlags(true)
	var format, out string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark: N interleaved VM/container runs, statistics, peers",
		Long: "Boot the VM and the container N times, interleaved (VM, container, VM, …), and report\n" +
			"min, median, p90 and max per metric with the VM/container ratio run by run.",
		Args: noArgs,
	}
	cmd.Flags().AddFlagSet(e.fs)
	mode := modeFlag(cmd.Flags(), host.ModeAuto, "; nested runs the whole experiment there")
	cmd.Flags().StringVar(&format, "format", "table", "table, json (schema "+compare.Schema+") or csv (one row per run and side)")
	cmd.Flags().StringVar(&out, "out", "", "write the results to this file instead of stdout")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		write, err := resultsWriter(format)
		if err != nil {
			return err
		}
		// Minutes of benchmarking must not end in "no such directory".
		if out != "" {
			if err := outfile.Check(out); err != nil {
				return usagef("--out: %v", err)
			}
		}
		res, err := runExperiment(cmd, e, *mode)
		if res.Schema == "" {
			return err
		}
		if werr := writeResults(out, cmd.OutOrStdout(), res, write); werr != nil {
			return werr
		}
		if out != "" {
			fmt.Fprintf(cmd.ErrOrStderr(), "twinboot bench: results in %s\n", out)
		}
		return err
	}
	return cmd
}

// resultsWriter picks the writer for --format, before anything is measured.
func resultsWriter(format string) (func(io.Writer, compare.Results) error, error) {
	switch format {
	case "table":
		return compare.WriteTable, nil
	case "json":
		return compare.WriteJSON, nil
	case "csv":
		return func(w io.Writer, r compare.Results) error { return compare.WriteCSV(w, compare.Rows(r)) }, nil
	}
	return nil, usagef("unknown format %q (want table, json or csv)", format)
}

// writeResults writes to path, or to stdout when path is empty.
func writeResults[R any](path string, stdout io.Writer, res R, write func(io.Writer, R) error) error {
	return writeFile(path, stdout, func(w io.Writer) error { return write(w, res) })
}

// writeFile writes with write to path, or to stdout when path is empty. A
// file is written whole or not at all (internal/outfile).
func writeFile(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "" {
		return write(stdout)
	}
	return outfile.Write(path, write)
}

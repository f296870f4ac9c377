package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/twinboot/twinboot/compare"
)

func init() {
	var (
		e            experimentFlags
		runs, warmup int
		format, out  string
	)
	register(&command{
		name:  "bench",
		short: "Benchmark: N interleaved VM/container runs, statistics, peers",
		summary: "Boot the VM and the container N times, interleaved (VM, container, VM, …), and report\n" +
			"min, median, p90 and max per metric with the VM/container ratio run by run.",
		usage: "--runs N [--warmup K] [--peers] [--format table|json|csv] [--out FILE] [--mode auto|native|nested]",
		setup: func(fs *flag.FlagSet) {
			e.setup(fs)
			fs.IntVar(&runs, "runs", 10, "measured VM+container pairs (at least 1)")
			fs.IntVar(&warmup, "warmup", 1, "pairs run first and left out of the statistics")
			fs.StringVar(&format, "format", "table", "table, json (schema "+compare.Schema+") or csv (one row per run and side)")
			fs.StringVar(&out, "out", "", "write the results to this file instead of stdout")
		},
		run: func(fs *flag.FlagSet, args []string, stdout io.Writer) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: unexpected arguments %q", errUsage, args)
			}
			if runs < 1 {
				return fmt.Errorf("%w: --runs must be at least 1, got %d", errUsage, runs)
			}
			if warmup < 0 {
				return fmt.Errorf("%w: --warmup must not be negative, got %d", errUsage, warmup)
			}
			write, err := resultsWriter(format)
			if err != nil {
				return err
			}
			res, err := experiment(fs, &e, "bench", runs, warmup, compare.Bench)
			if res.Schema == "" {
				return err
			}
			if werr := writeResults(out, stdout, res, write); werr != nil {
				return werr
			}
			return err
		},
	})
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
	return nil, fmt.Errorf("%w: unknown format %q (want table, json or csv)", errUsage, format)
}

// writeResults writes to path, or to stdout when path is empty. A file is
// written whole or not at all: to a temporary name, then renamed.
func writeResults(path string, stdout io.Writer, res compare.Results, write func(io.Writer, compare.Results) error) error {
	if path == "" {
		return write(stdout, res)
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	if err := write(f, res); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write results: %w", err)
	}
	return os.Rename(tmp, path)
}

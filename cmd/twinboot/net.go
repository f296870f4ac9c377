package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/outfile"
	"github.com/twinboot/twinboot/lab"
	"github.com/twinboot/twinboot/nested"
)

func netCmd() *cobra.Command {
	return group(&cobra.Command{
		Use:   "net",
		Short: "The lab network: benchmark its paths",
		Long: "The lab network: a private network namespace with a bridge, where the VM (on a TAP) and the\n" +
			"container (on a veth pair) get addresses (see --net on ct run, vm and run).\n\n" +
			"  net bench  latency and throughput, lab host ↔ VM, container and the QEMU peer",
	}, netBenchCmd())
}

func netBenchCmd() *cobra.Command {
	var (
		runs, pings              int
		stream                   = size{bytes: report.DefaultPeerBytes}
		format, out, charts, cfs string
		timeout                  time.Duration
		nf                       netFlags
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Latency and throughput over the lab network: VM, container, QEMU peer",
		Long: "Boot our VM, our container and the QEMU peer (virtio-net on a TAP of the same network, the\n" +
			"same kernel and initramfs) at once on one lab network, each serving its report, and measure\n" +
			"from the lab host, run after run: request/response round trips over one kept-alive TCP\n" +
			"connection, and one TCP stream; with the VM's exits per frame. In nested mode it all runs\n" +
			"in L1 and every figure is emulated.",
		Args: noArgs,
	}
	fs := cmd.Flags()
	fs.IntVar(&runs, "runs", 3, "measured rounds over the targets")
	fs.IntVar(&pings, "pings", report.DefaultPeerPings, "round trips per run and target")
	fs.Var(&stream, "stream", "bytes of the TCP stream per run and target (K, M or G suffix)")
	fs.StringVar(&format, "format", "table", "table, json or csv (one row per target and run)")
	fs.StringVar(&out, "out", "", "write the results to this file instead of stdout")
	fs.StringVar(&charts, "charts", "", "also draw the charts ("+compare.ChartNetRTT+", "+compare.ChartNetStream+") into this directory")
	fs.StringVar(&cfs, "chart-format", "svg,png", "chart formats with --charts: svg, png or both")
	fs.DurationVar(&timeout, "timeout", 3*time.Minute, "give up on a target that does not answer after this long")
	fs.StringVar(&nf.subnet, "subnet", "", "the lab network's IPv4 subnet (default the first free /24 from 10.88.0.0/24)")
	mode := modeFlag(fs, host.ModeAuto, "; nested runs the whole benchmark there")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		nf.on = true
		if err := nf.check(); err != nil {
			return err
		}
		if runs < 1 || pings < 1 {
			return usagef("--runs and --pings must be at least 1")
		}
		write, err := netWriter(format)
		if err != nil {
			return err
		}
		if out != "" {
			if err := outfile.Check(out); err != nil {
				return usagef("--out: %v", err)
			}
		}
		var fmts []string
		if charts != "" {
			if fmts, err = compare.ParseFormats(cfs); err != nil {
				return usageError{err}
			}
		}
		d, err := host.Decide(*mode)
		if err != nil {
			return usageError{err}
		}
		stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
		ctx, stop := signalContext()
		defer stop()
		var res compare.NetBenchResults
		var runErr error
		if d.Mode == host.ModeNested && !host.InsideL1() {
			// The benchmark runs in L1 and sends its results back as
			// JSON; they are written (and charted) here, on the host.
			fmt.Fprintf(stderr, "twinboot: mode %s: %s\n", d.Mode, d.Reason)
			line, files := commandLine(cmd, nil)
			var kept []string
			for _, a := range line {
				if !strings.HasPrefix(a, "--format=") && !strings.HasPrefix(a, "--out=") && !strings.HasPrefix(a, "--charts=") {
					kept = append(kept, a)
				}
			}
			var buf bytes.Buffer
			code, err := nested.Run(ctx, nested.Options{Sink: logSink(stderr), Extra: files, Peers: true},
				nested.Job{Args: append(kept, "--format=json"), Stdout: &buf, Stderr: stderr, Timeout: relayTimeout})
			if err != nil {
				return interrupted(ctx, stderr, err)
			}
			if jerr := json.Unmarshal(buf.Bytes(), &res); jerr != nil {
				return fmt.Errorf("net bench in L1 (exit status %d): no results: %v", code, jerr)
			}
			if code != 0 {
				runErr = exitError{code: code}
			}
		} else {
			a, err := guest.Load(guest.BuildDir())
			if err != nil {
				return err
			}
			m, emulated := lab.Where(d)
			o := compare.NetBenchOptions{Runs: runs, NetOptions: compare.NetOptions{
				Options: compare.Options{Guest: a, VMMemBytes: compare.DefaultVMMem, VMCPUs: 1, Timeout: timeout, Mode: m, Emulated: emulated},
				Net:     nf.config(), Pings: pings, StreamBytes: int64(stream.bytes),
			}}
			res, runErr = compare.BenchNet(ctx, o, nested.Tee(logSink(stderr), nested.EventTap()))
			if res.Network == "" {
				return interrupted(ctx, stderr, runErr)
			}
		}
		if werr := writeResults(out, stdout, res, write); werr != nil {
			return werr
		}
		if charts != "" {
			files, err := compare.NetBenchCharts(res, charts, fmts)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "twinboot: charts: %s\n", strings.Join(files, ", "))
		}
		return runErr
	}
	return cmd
}

func netWriter(format string) (func(io.Writer, compare.NetBenchResults) error, error) {
	switch format {
	case "table":
		return compare.WriteNetBenchTable, nil
	case "json":
		return func(w io.Writer, r compare.NetBenchResults) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(r)
		}, nil
	case "csv":
		return compare.WriteNetBenchCSV, nil
	}
	return nil, usagef("unknown format %q (want table, json or csv)", format)
}

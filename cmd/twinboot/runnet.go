package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/nested"
)

// runNet is `twinboot run --net`: both sides on one lab network, in L1 in
// nested mode (the whole command runs there, as vm does).
func runNet(cmd *cobra.Command, e *experimentFlags, nf netFlags, mode string, jsonOut bool) error {
	if err := nf.check(); err != nil {
		return err
	}
	d, done, err := relayNested(cmd, nil, mode, relayInput{})
	if done {
		return err
	}
	x, err := e.experiment(cmd.Name(), d)
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	sink := nested.Tee(logSink(stderr), nested.EventTap())
	res, err := compare.RunNet(ctx, compare.NetOptions{Options: x.Options, Net: nf.config()}, sink)
	if res.Network != "" {
		var werr error
		if jsonOut {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			werr = enc.Encode(res)
		} else {
			werr = writeNetTable(stdout, res)
		}
		err = errors.Join(err, werr)
	}
	return interrupted(ctx, stderr, err)
}

func writeNetTable(w io.Writer, r compare.NetResults) error {
	em := ""
	if r.Emulated {
		em = " (emulated: nested mode)"
	}
	fmt.Fprintf(w, "lab network %s, subnet %s, lab host %s%s\n", r.Network, r.Subnet, r.LabHost, em)
	for _, s := range r.Sides {
		fmt.Fprintf(w, "  %-9s %-12s %-15s on %-5s (its report: hostname %q, eth0 %v)\n", s.Side, s.Hostname, s.Addr, s.Link, s.SeenHostname, s.SeenAddrs)
	}
	fmt.Fprintf(w, "reachability (measured at the first node; round trips over one kept-alive TCP connection):\n")
	fmt.Fprintf(w, "  %-10s    %-10s  %-4s %10s %10s %12s\n", "from", "to", "ok", "rtt p50", "rtt p99", "stream")
	for _, p := range r.Paths {
		ok := "yes"
		if !p.OK {
			ok = "NO"
		}
		fmt.Fprintf(w, "  %-10s -> %-10s  %-4s %8.0f µs %8.0f µs %7.1f MB/s", p.From, p.To, ok, p.RTTP50us, p.RTTP99us, p.StreamMBps)
		if p.Error != "" {
			fmt.Fprintf(w, "  %s", p.Error)
		}
		fmt.Fprintln(w)
	}
	if n := r.VMNet; n != nil {
		fmt.Fprintf(w, "VM NIC %s: %d frames, %d MMIO exits, %d interrupts\n", n.Backend, n.Requests, n.MMIOExits, n.Interrupts)
	}
	return nil
}

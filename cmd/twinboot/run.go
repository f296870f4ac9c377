package main

import (
	"github.com/spf13/cobra"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/internal/host"
)

func runCmd() *cobra.Command {
	e := newExperimentFlags(false)
	var jsonOut bool
	var nf netFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Boot the workload once as a VM and once as a container",
		Long: "Boot the same workload once as a VM and once as a container and show them side by side:\n" +
			"boot phases, time to READY, memory and the kernel-sharing facts.\n\n" +
			"With --net, both sides boot at once on one lab network, each serving its report\n" +
			"(the probe's serve mode), and the results are the network's: each side's address\n" +
			"and the reachability matrix (lab host → VM, lab host → container, VM → container,\n" +
			"container → VM) with round-trip times and one TCP stream's throughput.",
		Args: noArgs,
	}
	cmd.Flags().AddFlagSet(e.fs)
	mode := modeFlag(cmd.Flags(), host.ModeAuto, "; nested runs the whole experiment there")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the results as one JSON document (schema "+compare.Schema+")")
	nf.add(cmd.Flags(), "run both sides at once")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if nf.on || nf.subnet != "" {
			return runNet(cmd, e, nf, *mode, jsonOut)
		}
		res, err := runExperiment(cmd, e, *mode)
		if res.Schema == "" {
			return err // nothing was measured
		}
		// A failed side still prints its results (they say what failed),
		// then the error makes the exit status non-zero.
		var werr error
		if jsonOut {
			werr = compare.WriteJSON(cmd.OutOrStdout(), res)
		} else {
			werr = compare.WriteTable(cmd.OutOrStdout(), res)
		}
		if err != nil {
			return err
		}
		return werr
	}
	return cmd
}

package main

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/spf13/cobra"

	"github.com/twinboot/twinboot/doctor"
	"github.com/twinboot/twinboot/internal/host"
)

func doctorCmd() *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check this host and say which mode (native/nested) applies",
		Long: "Check this host: /dev/kvm and its flavour (vmx, svm, kvm_pvm), cgroup layout, root,\n" +
			"qemu/runc/crun/busybox, the guest build, and which mode --mode auto picks and why.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("doctor takes no arguments")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the report as one JSON object")
	mode := modeFlag(cmd.Flags(), host.ModeAuto, "; here: the mode to evaluate")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		r, err := doctor.Inspect(context.Background(), *mode)
		if errors.Is(err, host.ErrBadMode) {
			return usageError{err}
		}
		if err != nil {
			return err
		}
		if jsonOut {
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(r)
		}
		return r.WriteText(cmd.OutOrStdout())
	}
	return cmd
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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
			"qemu/runc/crun/busybox, the guest build, where twinboot found its parts, what killed runs\n" +
			"left behind (removed), and which mode --mode auto picks and why. With --mode nested it\n" +
			"also boots the nested-mode machine (L1) and shows the same report from inside it.",
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
		r.StaleRemoved = staleRemoved
		if jsonOut {
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			err = enc.Encode(r)
		} else {
			err = r.WriteText(cmd.OutOrStdout())
		}
		if err != nil || r.InsideL1 || !cmd.Flags().Changed("mode") || r.Mode.Mode != host.ModeNested {
			return err
		}
		// --mode nested: the view from inside L1 too (svm, nested paging,
		// cgroup v2), from the same doctor run there.
		if !jsonOut {
			fmt.Fprintf(cmd.OutOrStdout(), "\n── inside nested mode's L1 machine (booting it) ──\n")
		}
		_, _, err = relayNested(cmd, nil, *mode, relayInput{})
		return err
	}
	return cmd
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/twinboot/twinboot/internal/doctor"
	"github.com/twinboot/twinboot/nested"
)

func init() {
	var (
		jsonOut bool
		mode    string
	)
	register(&command{
		name:  "doctor",
		short: "Check this host and say which mode (native/nested) applies",
		summary: "Check this host: /dev/kvm and its flavour (vmx, svm, kvm_pvm), cgroup layout, root,\n" +
			"qemu/runc/crun/busybox, the guest build, and which mode --mode auto picks and why.",
		usage: "[--json] [--mode auto|native|nested]",
		setup: func(fs *flag.FlagSet) {
			fs.BoolVar(&jsonOut, "json", false, "print the report as one JSON object")
			fs.StringVar(&mode, "mode", nested.ModeAuto, "the mode to evaluate: auto, native or nested")
		},
		run: func(fs *flag.FlagSet, args []string, stdout io.Writer) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: doctor takes no arguments", errUsage)
			}
			r, err := doctor.Inspect(context.Background(), mode)
			if errors.Is(err, nested.ErrBadMode) {
				return fmt.Errorf("%w: --mode: %v", errUsage, err)
			}
			if err != nil {
				return err
			}
			if jsonOut {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			return r.WriteText(stdout)
		},
	})
}

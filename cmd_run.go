package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/twinboot/twinboot/compare"
)

func init() {
	var (
		e       experimentFlags
		jsonOut bool
	)
	register(&command{
		name:  "run",
		short: "Boot the workload once as a VM and once as a container",
		summary: "Boot the same workload once as a VM and once as a container and show them side by side:\n" +
			"boot phases, time to READY, memory and the kernel-sharing facts.",
		usage: "[--mode auto|native|nested] [--json] [--peers] [flags]",
		setup: func(fs *flag.FlagSet) {
			e.setup(fs)
			fs.BoolVar(&jsonOut, "json", false, "print the results as one JSON document (schema "+compare.Schema+")")
		},
		run: func(fs *flag.FlagSet, args []string, stdout io.Writer) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: unexpected arguments %q", errUsage, args)
			}
			res, err := experiment(fs, &e, "run", 1, 0, compare.RunOnce)
			if res.Schema == "" {
				return err // nothing was measured
			}
			// A failed side still prints its results (they say what failed),
			// then the error makes the exit status non-zero.
			var werr error
			if jsonOut {
				werr = compare.WriteJSON(stdout, res)
			} else {
				werr = compare.WriteTable(stdout, res)
			}
			if err != nil {
				return err
			}
			return werr
		},
	})
}

package main

import (
	"flag"
	"fmt"
	"io"
	"runtime/debug"
)

func init() {
	register(&command{
		name:    "version",
		short:   "Print twinboot's version",
		summary: "Print twinboot's version and build information.",
		run: func(fs *flag.FlagSet, args []string, stdout io.Writer) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: version takes no arguments", errUsage)
			}
			v := "(devel)"
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						v = s.Value
					}
				}
			}
			fmt.Fprintf(stdout, "twinboot %s\n", v)
			return nil
		},
	})
}

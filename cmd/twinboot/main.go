package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/network"
)

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

// commands is every `twinboot <name>`, in the order --help lists them.
func commands() []*cobra.Command {
	return []*cobra.Command{
		labCmd(),
		runCmd(),
		benchCmd(),
		vmCmd(),
		ctCmd(),
		netCmd(),
		chartCmd(),
		guestCmd(),
		nestedCmd(),
		doctorCmd(),
		versionCmd(),
	}
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "twinboot <command>",
		Short: "twinboot boots the same workload as a VM and as a container, side by side.",
		// Without a command: the command list, and the status of bad usage.
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cmd.OutOrStdout())
			cmd.Usage()
			return exitError{2}
		},
		SilenceErrors: true,
		SilenceUsage:  true,
		// Every command first removes what killed runs left behind
		// (container state, cgroups, mounts), and says so.
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			if ids, _ := container.CleanupStaleRuns(); len(ids) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "twinboot: removed what %d killed run(s) left behind: %s\n", len(ids), strings.Join(ids, ", "))
			}
			if nets, _ := network.CleanupStale(); len(nets) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "twinboot: removed %d lab network(s) killed runs left behind: %s\n", len(nets), strings.Join(nets, ", "))
			}
		},
	}
	root.AddCommand(commands()...)
	root.SetUsageTemplate(usageTemplate)
	root.SetHelpTemplate(helpTemplate)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.CompletionOptions.HiddenDefaultCmd = false
	return root
}

// helpTemplate and usageTemplate print what every command's --help shows:
// what it does, its usage line, its subcommands and its flags.
const helpTemplate = `{{with (or .Long .Short)}}{{. | trimTrailingWhitespaces}}

{{end}}{{.UsageString}}`

const usageTemplate = `Usage: {{if .Runnable}}{{.UseLine}}{{else}}{{.CommandPath}} <command>{{end}}{{if .HasAvailableSubCommands}}

Commands:{{range .Commands}}{{if .IsAvailableCommand}}
  {{rpad .Name .NamePadding}} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

Flags:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableInheritedFlags}}

Flags of {{.Parent.CommandPath}}:
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableSubCommands}}

Run '{{.CommandPath}} <command> --help' for a command's flags.{{end}}
`

// usageError is bad usage: exit status 2, and a pointer to --help.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitError carries a specific exit status (a guest's or a container's).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// dispatch runs the command line args and returns the exit status.
func dispatch(args []string, stdout, stderr io.Writer) int {
	root := rootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	name := strings.TrimPrefix(cmd.CommandPath(), "twinboot ")
	var ee exitError
	var ue usageError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue), strings.HasPrefix(err.Error(), "unknown command "):
		fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", cmd.CommandPath(), err, cmd.CommandPath())
		return 2
	case jsonWanted(cmd):
		// Machine-readable error: one JSON object on one line of stderr, so
		// that stdout stays a valid (empty) JSON stream for `| jq`.
		b, _ := json.Marshal(struct {
			Command string `json:"command"`
			Error   string `json:"error"`
		}{name, err.Error()})
		fmt.Fprintf(stderr, "%s\n", b)
		return 1
	default:
		fmt.Fprintf(stderr, "%s: %v\n", cmd.CommandPath(), err)
		return 1
	}
}

// jsonWanted reports whether the command has a --json flag and it was set.
func jsonWanted(cmd *cobra.Command) bool {
	f := cmd.Flags().Lookup("json")
	return f != nil && f.Value.String() == "true"
}

// noArgs refuses positional arguments, as bad usage.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected arguments %q", args)
	}
	return nil
}

// group is a command that only holds subcommands: called without one, or
// with one it does not know, it is bad usage.
func group(cmd *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	cmd.AddCommand(subs...)
	var names []string
	for _, s := range subs {
		names = append(names, s.Name())
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usagef("%s needs a subcommand: %s", c.Name(), strings.Join(names, " or "))
		}
		return usagef("unknown %s subcommand %q (want %s)", c.Name(), args[0], strings.Join(names, " or "))
	}
	return cmd
}

// signalContext is cancelled by SIGINT or SIGTERM, so that deferred cleanup
// (stopping a VM, killing QEMU, removing temporary files) runs instead of
// an abrupt exit.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// interrupted turns a cancellation by Ctrl-C or SIGTERM into the shell's
// usual status 130, after the cleanup has run.
func interrupted(stderr io.Writer, err error) error {
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "twinboot: %v\n", err)
		return exitError{130}
	}
	return err
}

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
	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/nested"
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
		densityCmd(),
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
			return exitError{code: exitUsage}
		},
		SilenceErrors: true,
		SilenceUsage:  true,
		// Every command first removes what killed runs left behind
		// (container state, cgroups, mounts), and says so.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			// A mistyped $TWINBOOT_BUILD is bad input, refused before any
			// work (it must never become a fresh place to download and
			// build into); doctor reports it instead.
			buildDir, err := guest.FindBuildDir()
			if err != nil && !tolerant(cmd) {
				return usageError{err}
			}
			if err != nil {
				buildDir = "" // doctor reports it; nothing of L1's to clean there
			}
			staleRemoved = cleanupStale(buildDir)
			if len(staleRemoved) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "twinboot: removed what killed runs left behind: %s\n", strings.Join(staleRemoved, ", "))
			}
			return nil
		},
	}
	root.AddCommand(commands()...)
	root.SetUsageTemplate(usageTemplate)
	root.SetHelpTemplate(helpTemplate)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.CompletionOptions.HiddenDefaultCmd = false
	return root
}

// tolerant says whether cmd works without a build directory: it reports
// on one (doctor) or never uses one.
func tolerant(cmd *cobra.Command) bool {
	for c := cmd; c != nil; c = c.Parent() {
		switch c.Name() {
		case "doctor", "version", "completion", "help", "chart":
			return true
		}
	}
	return false
}

// staleRemoved is what this command's start removed (doctor reports it).
var staleRemoved []string

// cleanupStale removes what killed runs left: a container's state, cgroups
// and mounts (by container ID), an L1 machine's temporary files (by path)
// and a lab network (its namespace, links and addresses), so that a SIGKILL costs nothing until a later run of the same
// command.
func cleanupStale(buildDir string) []string {
	ids, _ := container.CleanupStaleRuns()
	var out []string
	for _, id := range ids {
		out = append(out, "container "+id)
	}
	if buildDir != "" {
		out = append(out, nested.CleanupStaleRuns(buildDir)...)
	}
	nets, _ := network.CleanupStale()
	for _, n := range nets {
		out = append(out, "lab network "+n)
	}
	return out
}

// helpTemplate and usageTemplate print what every command's --help shows:
// what it does, its usage line, its subcommands and its flags.
const helpTemplate = `{{with (or .Long .Short)}}{{. | trimTrailingWhitespaces}}

{{end}}{{.UsageString}}
` + exitHelp + "\n"

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

// exitError carries a specific exit status (a guest's or a container's,
// 124 for a timeout, 128+n for signal n). With err set, the error is
// printed as any other; without, the command has said what happened.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("exit status %d", e.code)
}

func (e exitError) Unwrap() error { return e.err }

// Exit statuses, the same for every command (see exitHelp).
const (
	exitFailure = 1   // the command failed: its error is on stderr
	exitUsage   = 2   // bad usage: a flag, an argument, a value
	exitTimeout = 124 // a --timeout ran out, as timeout(1) says it
	exitSignal  = 128 // plus the signal's number: stopped by that signal
)

// exitHelp is the convention as --help states it.
const exitHelp = `Exit status: 0 done; 1 failed (the error is on stderr); 2 bad usage;
124 a --timeout ran out; 128+n stopped by signal n (130 Ctrl-C, 143 SIGTERM);
vm and ct run: otherwise the guest's or the container's own status.`

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
	code := exitFailure
	switch {
	case errors.As(err, &ee) && ee.err == nil:
		return ee.code
	case errors.As(err, &ee):
		code = ee.code
	case errors.As(err, &ue), strings.HasPrefix(err.Error(), "unknown command "):
		if !jsonWanted(cmd) {
			fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", cmd.CommandPath(), err, cmd.CommandPath())
			return exitUsage
		}
		code = exitUsage
	}
	switch {
	case jsonWanted(cmd):
		// Machine-readable error: one JSON object on one line of stderr, so
		// that stdout stays a valid (empty) JSON stream for `| jq`.
		b, _ := json.Marshal(struct {
			Command string `json:"command"`
			Error   string `json:"error"`
		}{name, err.Error()})
		fmt.Fprintf(stderr, "%s\n", b)
	default:
		fmt.Fprintf(stderr, "%s: %v\n", cmd.CommandPath(), err)
	}
	return code
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

// caught is the signal that cancelled a signalContext.
type caught struct{ sig syscall.Signal }

func (c caught) Error() string { return "stopped by " + unix.SignalName(c.sig) }

// signalContext is cancelled by SIGINT, SIGTERM or SIGHUP (a closed
// terminal), so that deferred cleanup (stopping a VM, killing QEMU,
// removing temporary files) runs instead of an abrupt exit; the context's
// cause is the signal.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		select {
		case s := <-ch:
			cancel(caught{s.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel(context.Canceled)
	}
}

// interrupted turns a cancellation by a signal into the shell's status
// for it, 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM),
// after the cleanup has run.
func interrupted(ctx context.Context, stderr io.Writer, err error) error {
	var c caught
	if errors.Is(err, context.Canceled) && errors.As(context.Cause(ctx), &c) {
		fmt.Fprintf(stderr, "twinboot: %v: %v\n", c, err)
		return exitError{code: exitSignal + int(c.sig)}
	}
	return err
}

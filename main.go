// Command twinboot boots one small workload twice, as a virtual machine under
// its own KVM hypervisor and as a container under its own namespace runtime,
// and shows the two side by side.
//
// This file only dispatches: every command lives in a cmd_*.go file that
// parses its flags and calls the packages that do the work.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one `twinboot <name>` subcommand.
type command struct {
	name    string
	short   string // a few words for the command list
	summary string // what --help says about the command
	usage   string // argument synopsis, after "twinboot <name>"
	// setup declares the command's flags; run does the work with the
	// positional arguments left after parsing. Results go to stdout; errors and
	// progress go to fs.Output(), which is stderr.
	setup func(fs *flag.FlagSet)
	run   func(fs *flag.FlagSet, args []string, stdout io.Writer) error
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("twinboot: command registered twice: " + c.name) // programming error, not input
	}
	commands[c.name] = c
}

// errUsage asks main to print the command's usage after the error.
var errUsage = errors.New("usage")

// exitError carries a specific exit status (a guest's or a container's).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if hook, ok := reexecHook(); ok {
		return hook()
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				fs := newFlagSet(c, stderr)
				fs.SetOutput(stdout)
				fs.Usage()
				return 0
			}
		}
		topUsage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "twinboot: unknown command %q\n\n", args[0])
		topUsage(stderr)
		return 2
	}
	fs := newFlagSet(c, stderr)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	err := c.run(fs, fs.Args(), stdout)
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "twinboot %s: %v\n", c.name, err)
		fs.Usage()
		return 2
	case jsonWanted(fs):
		// Machine-readable error: one JSON object on one line of stderr, so
		// that stdout stays a valid (empty) JSON stream for `| jq`.
		b, _ := json.Marshal(struct {
			Command string `json:"command"`
			Error   string `json:"error"`
		}{c.name, err.Error()})
		fmt.Fprintf(stderr, "%s\n", b)
		return 1
	default:
		fmt.Fprintf(stderr, "twinboot %s: %v\n", c.name, err)
		return 1
	}
}

// jsonWanted reports whether the command has a --json flag and it was set.
func jsonWanted(fs *flag.FlagSet) bool {
	f := fs.Lookup("json")
	return f != nil && f.Value.String() == "true"
}

func newFlagSet(c *command, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("twinboot "+c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if c.setup != nil {
		c.setup(fs)
	}
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: twinboot %s %s\n\n%s\n", c.name, c.usage, c.summary)
		var n int
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintf(out, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

func topUsage(w io.Writer) {
	fmt.Fprintf(w, "twinboot boots the same workload as a VM and as a container, side by side.\n\n")
	fmt.Fprintf(w, "Usage: twinboot <command> [flags]\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := commands[n]
		if c.short != "" {
			fmt.Fprintf(w, "  %-10s %s\n", n, c.short)
		} else {
			fmt.Fprintf(w, "  %-10s %s\n", n, firstLine(c.summary))
		}
	}
	fmt.Fprintf(w, "\nRun 'twinboot <command> --help' for a command's flags.\n")
}

// firstLine returns a summary's first sentence, for the command list,
// shortened at a word boundary if it would not fit a terminal line.
func firstLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	const max = 66
	if len(s) <= max {
		return s
	}
	cut := strings.LastIndexByte(s[:max], ' ')
	if cut < 0 {
		cut = max
	}
	return strings.TrimRight(s[:cut], ",:;") + " …"
}

// reexecHooks lets a package that re-executes /proc/self/exe (the container
// runtime's init, for instance) take over before any flag parsing. A hook is
// chosen by the value of the TWINBOOT_REEXEC environment variable.
var reexecHooks = map[string]func() int{}

func reexecHook() (func() int, bool) {
	name := os.Getenv("TWINBOOT_REEXEC")
	if name == "" {
		return nil, false
	}
	h, ok := reexecHooks[name]
	return h, ok
}

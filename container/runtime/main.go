package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/container"
)

// Version is what --version prints beside the runtime-spec version.
var Version = "twinboot-runtime (twinboot)"

// globalFlags are runc's; the ones marked accepted are documented in doc.go.
var globalFlags = []flagDef{
	{names: []string{"root"}, help: "directory of the containers' state (default " + container.DefaultRoot + ")"},
	{names: []string{"log"}, help: "write errors (and with --debug, progress) to this file too"},
	{names: []string{"log-format"}, help: "format of --log: text or json"},
	{names: []string{"debug"}, boolean: true, help: "report progress"},
	{names: []string{"systemd-cgroup"}, boolean: true, help: "accepted, not acted on: cgroups are made with cgroupfs"},
	{names: []string{"rootless"}, help: "accepted, not acted on: the runtime needs root"},
	{names: []string{"criu"}, help: "accepted, not acted on: no checkpoint/restore"},
	{names: []string{"help", "h"}, boolean: true, help: "show this help"},
	{names: []string{"version", "v"}, boolean: true, help: "print the version"},
}

// cli is one invocation: its global settings and where it writes.
type cli struct {
	prog      string // the program name in usage and error lines
	root      string
	debug     bool
	logFile   io.Writer
	logJSON   bool
	stdin     io.Reader
	stdout    io.Writer
	stderr    io.Writer
	verb      string
	closeLogs func()
}

// verb is one subcommand.
type verb struct {
	name, args, short string
	flags             []flagDef
	run               func(c *cli, fs *flagSet) error
}

var verbs []*verb

func lookupVerb(name string) *verb {
	for _, v := range verbs {
		if v.name == name {
			return v
		}
	}
	return nil
}

// BinaryName is the runtime's own executable (build/bin/twinboot-runtime),
// the path an engine is given in place of runc's.
const BinaryName = "twinboot-runtime"

// Main runs one runtime command line (without the program name) and returns
// the exit status. The container's standard streams are stdin, stdout and
// stderr themselves when they are files (as an engine's are), handed to the
// container's init with no copying in between.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return mainAs(BinaryName, args, stdin, stdout, stderr)
}

func mainAs(prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{prog: prog, stdin: stdin, stdout: stdout, stderr: stderr, closeLogs: func() {}}
	defer func() { c.closeLogs() }()
	err := c.main(args)
	if err == nil {
		return 0
	}
	var ee exitStatus
	if errors.As(err, &ee) {
		return int(ee)
	}
	c.logError(err)
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// MainVerb is Main for a command line that names the verb first and may
// give the global flags after it, as `twinboot ct create --root DIR ID`
// does: they are moved in front of the verb, where runc's command line has
// them. prog is the program's name as the user typed it ("twinboot ct"),
// for the usage and error lines.
func MainVerb(prog, verb string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var globals, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		def := globalFlag(name)
		if !strings.HasPrefix(a, "-") || def == nil || name == "help" || name == "h" {
			rest = append(rest, a)
			continue
		}
		globals = append(globals, a)
		if !def.boolean && !hasValue && i+1 < len(args) {
			i++
			globals = append(globals, args[i])
		}
	}
	return mainAs(prog, append(append(globals, verb), rest...), stdin, stdout, stderr)
}

// Verbs lists the runtime's commands with their one-line descriptions.
func Verbs() [][2]string {
	var out [][2]string
	for _, v := range verbs {
		out = append(out, [2]string{v.name, v.short})
	}
	return out
}

func globalFlag(name string) *flagDef {
	for i := range globalFlags {
		for _, n := range globalFlags[i].names {
			if n == name {
				return &globalFlags[i]
			}
		}
	}
	return nil
}

// exitStatus is how `run` passes on the container's own status.
type exitStatus int

func (e exitStatus) Error() string { return "exit status " + strconv.Itoa(int(e)) }

func (c *cli) main(args []string) error {
	g, err := parseFlags(c.prog, globalFlags, args)
	if err != nil {
		return err
	}
	c.root, c.debug = g.str("root"), g.bool("debug")
	if p := g.str("log"); p != "" {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("open log file: %w", err)
		}
		c.logFile, c.closeLogs = f, func() { f.Close() }
	}
	switch lf := g.str("log-format"); lf {
	case "", "text":
	case "json":
		c.logJSON = true
	default:
		return fmt.Errorf("%w: --log-format %q: want text or json", errUsage, lf)
	}
	if g.bool("version") {
		fmt.Fprintf(c.stdout, "%s\nspec: %s\n", Version, specVersion())
		return nil
	}
	if g.bool("help") || len(g.args) == 0 {
		c.usage(c.stdout)
		if len(g.args) == 0 && !g.bool("help") {
			return fmt.Errorf("%w: no command given", errUsage)
		}
		return nil
	}
	c.verb = g.args[0]
	v := lookupVerb(c.verb)
	if v == nil {
		return fmt.Errorf("%w: unknown command %q (try --help)", errUsage, c.verb)
	}
	defs := append(v.flags, flagDef{names: []string{"help", "h"}, boolean: true, help: "show this help"})
	fs, err := parseFlags(v.name, defs, g.args[1:])
	if err != nil {
		return err
	}
	if fs.bool("help") {
		fmt.Fprintf(c.stdout, "Usage: %s %s %s\n\n%s\n\nFlags:\n%s", c.prog, v.name, v.args, v.short, usageOf(defs))
		return nil
	}
	c.debugf("%s %s", v.name, strings.Join(fs.args, " "))
	return v.run(c, fs)
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s [global flags] COMMAND [flags] ID [ARGS]\n\n"+
		"twinboot's container runtime, with runc's command line.\n\nCommands:\n", c.prog)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	for _, v := range verbs {
		fmt.Fprintf(tw, "  %s\t%s\n", v.name, v.short)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nGlobal flags:\n%s", usageOf(globalFlags))
}

// logError reports err on one line of stderr and in the log file.
func (c *cli) logError(err error) {
	msg := err.Error()
	if errors.Is(err, errUsage) {
		msg = strings.TrimPrefix(msg, errUsage.Error()+": ")
	}
	fmt.Fprintf(c.stderr, "%s: %s\n", c.prog, msg)
	c.logLine("error", msg)
}

func (c *cli) debugf(format string, args ...any) {
	if !c.debug {
		return
	}
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(c.stderr, "%s: debug: %s\n", c.prog, msg)
	c.logLine("debug", msg)
}

// logLine writes one record to --log, as runc does: logrus's text or JSON.
func (c *cli) logLine(level, msg string) {
	if c.logFile == nil {
		return
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if c.logJSON {
		b, _ := json.Marshal(map[string]string{"level": level, "msg": msg, "time": now})
		fmt.Fprintf(c.logFile, "%s\n", b)
		return
	}
	fmt.Fprintf(c.logFile, "time=%q level=%s msg=%q\n", now, level, msg)
}

// oneID checks that the verb got exactly the ID (and at most extra more
// arguments) and returns it.
func oneID(verb string, fs *flagSet, extra int) (string, error) {
	if len(fs.args) == 0 {
		return "", fmt.Errorf("%w: %s: missing container ID", errUsage, verb)
	}
	if len(fs.args) > 1+extra {
		return "", fmt.Errorf("%w: %s: unexpected arguments after the ID: %s", errUsage, verb, strings.Join(fs.args[1+extra:], " "))
	}
	return fs.args[0], nil
}

// parseSignal takes a signal as runc does: a number, or a name with or
// without SIG, in any case ("9", "KILL", "sigterm").
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal number %d", n)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// asFile returns the *os.File behind a standard stream, or nil.
func asFile(v any) *os.File {
	if f, ok := v.(*os.File); ok {
		return f
	}
	return nil
}

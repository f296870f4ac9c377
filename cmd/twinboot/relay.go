package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/nested"
)

// Every command that runs a VM (or, on request, a container) behaves the
// same in nested mode: the command is run again, with the same flags and
// arguments, inside the L1 machine, and its stdout, stderr and exit status
// are relayed. Inside L1 the decision is always native, so the inner run
// does the work.

// relayTimeout bounds a relayed command with the boot of its L1.
const relayTimeout = 30 * time.Minute

// relayInput says whether a relayed command reads this process's stdin.
type relayInput struct {
	stdin bool // relay os.Stdin to the inner command
	tty   bool // and, when it is a terminal, give the inner command a pty in L1
}

// relayNested decides the mode and says so (on stderr, or as an event.Log
// JSON line on stdout when the command has --json set). In nested mode it
// re-runs the command in L1 and returns done=true with the command's
// result. Ctrl-C and SIGTERM kill QEMU and remove temporary files before
// the command returns.
//
// in says whether the command reads its standard input (vm --stdin, ct
// run): what it reads is then relayed into L1. A terminal is put in raw
// mode and Ctrl-] ends the inner command.
func relayNested(cmd *cobra.Command, args []string, mode string, in relayInput) (d host.Decision, done bool, err error) {
	d, err = host.Decide(mode)
	if err != nil {
		return d, true, usageError{err}
	}
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if !host.InsideL1() {
		msg := fmt.Sprintf("mode %s: %s", d.Mode, d.Reason)
		if jsonWanted(cmd) {
			event.Write(stdout, event.Log{Msg: msg})
		} else {
			fmt.Fprintf(stderr, "twinboot: %s\n", msg)
		}
	}
	if d.Mode != host.ModeNested {
		return d, false, nil
	}
	ctx, stop := signalContext()
	defer stop()
	line, files := commandLine(cmd, args)
	job := nested.Job{Args: line, Stdout: stdout, Stderr: stderr, Timeout: relayTimeout}
	var escaped <-chan struct{}
	if in.stdin {
		var keys *nested.Keys
		if escaped, keys, err = nested.Interactive(&job, os.Stdin, os.Stdin); err != nil {
			return d, true, fmt.Errorf("stdin: %w", err)
		}
		defer keys.Close()
		if keys.TTY {
			job.TTY = in.tty
			fmt.Fprintf(stderr, "twinboot: your keys go to the lab machine (L1); Ctrl-] ends.\r\n")
		} else {
			escaped = nil // a pipe has no Ctrl-] to press
		}
	}
	code, err := nested.Run(ctx, nested.Options{Sink: logSink(stderr), Extra: files}, job)
	if escaped != nil {
		select {
		case <-escaped:
			fmt.Fprintf(stderr, "\r\ntwinboot: stopped with Ctrl-]\r\n")
			return d, true, exitError{code: 130}
		default:
		}
	}
	if err != nil {
		return d, true, interrupted(ctx, stderr, err)
	}
	if code != 0 {
		return d, true, exitError{code: code}
	}
	return d, true, nil
}

// commandLine rebuilds the command's arguments: the command's path below
// twinboot, every flag that was set, and the positional arguments.
func commandLine(cmd *cobra.Command, args []string) (line []string, files []nested.File) {
	// "twinboot ct run" is two words of the command line, not one.
	line = strings.Fields(strings.TrimPrefix(cmd.CommandPath(), "twinboot "))
	cmd.Flags().Visit(func(f *pflag.Flag) {
		arg, fs := intoL1(f)
		line, files = append(line, arg), append(files, fs...)
	})
	if len(args) > 0 {
		line = append(append(line, "--"), args...)
	}
	return line, files
}

// intoL1 is a set flag as the same command in L1 gets it: a flag naming
// host files names their copies there, which files lists. Every command
// that runs in L1 passes its flags through here, so a host path is carried
// the same way for all of them.
func intoL1(f *pflag.Flag) (arg string, files []nested.File) {
	v := f.Value.String()
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		// "1,2,4", which Set reads back, not String's "[1,2,4]".
		v = strings.Join(sv.GetSlice(), ",")
	}
	if hf, ok := f.Value.(hostFiles); ok {
		// A flag that names several host files (--disk) points them at
		// their copies itself.
		files = hf.intoL1()
		v = f.Value.String()
	} else if _, ok := f.Annotations[fileFlag]; ok && v != "" {
		dst := "/extra/" + f.Name + "/" + filepath.Base(v)
		files = []nested.File{{Src: v, Dst: dst}}
		v = dst
	}
	return "--" + f.Name + "=" + v, files
}

// hostFiles is a flag value naming host files that a run in L1 needs
// copies of: intoL1 points the value at the copies and lists them.
type hostFiles interface {
	intoL1() []nested.File
}

// logSink prints Log and Failure events as plain lines.
func logSink(w io.Writer) event.Sink {
	return func(ev event.Event) {
		switch e := ev.(type) {
		case event.Log:
			fmt.Fprintf(w, "%s\n", e.Msg)
		case event.Failure:
			fmt.Fprintf(w, "failure: %s\n", e.Err)
		}
	}
}

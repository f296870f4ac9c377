package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/nested"
)

// This file gives every command that runs a VM the same --mode flag and the
// same behaviour in nested mode: the command is run again, with the same
// flags and arguments, inside the L1 machine, and its stdout, stderr and exit
// status are relayed. A command wires it in with two lines:
//
//	mode := addModeFlag(fs)                                  // in setup
//	if _, done, err := relayNested(fs, *mode, stdout, nil, relayInput{}); done { return err } // first in run
//
// Inside L1 the decision is always native, so the inner run does the work.

// addModeFlag declares --mode on fs.
func addModeFlag(fs *flag.FlagSet) *string {
	return fs.String("mode", nested.ModeAuto,
		"where the VM runs: auto (native with hardware KVM, else nested), native (this host's /dev/kvm),\n"+
			"or nested (inside an emulated AMD-V machine under QEMU; timings are then emulated)")
}

// relayInput says whether a relayed command reads this process's stdin.
type relayInput struct {
	stdin bool // relay os.Stdin to the inner command
	tty   bool // and, when it is a terminal, give the inner command a pty in L1
	// files, when set, carries host files into L1 (a VM's disk images); it
	// is called in nested mode only, before the command line is rebuilt,
	// so that it can point the command's flags at the files' L1 paths.
	files func() []nested.File
}

// relayNested decides the mode and says so (on stderr, or as an event.Log
// JSON line on stdout when the command has --json set). In nested mode it
// re-runs the command in L1 and returns done=true with the command's result;
// sink, when not nil, also receives the inner command's events. Ctrl-C and
// SIGTERM kill QEMU and remove temporary files before the command returns.
//
// in says whether the command reads its standard input (vm --stdin, ct run):
// what it reads is then relayed into L1. A terminal is put in raw mode and
// Ctrl-] ends the inner command (see relayStdin).
func relayNested(fs *flag.FlagSet, mode string, stdout io.Writer, sink event.Sink, in relayInput) (d nested.Decision, done bool, err error) {
	d, err = nested.Decide(mode)
	if err != nil {
		return d, true, fmt.Errorf("%w: --mode: %v", errUsage, err)
	}
	if !nested.Inside() {
		msg := fmt.Sprintf("mode %s: %s", d.Mode, d.Reason)
		if jsonWanted(fs) {
			event.Write(stdout, event.Log{Msg: msg})
		} else {
			fmt.Fprintf(fs.Output(), "twinboot: %s\n", msg)
		}
	}
	if d.Mode != nested.ModeNested {
		return d, false, nil
	}
	ctx, stop := signalContext()
	defer stop()
	opt := nested.Options{
		Timeout: 30 * time.Minute,
		Stderr:  fs.Output(),
		Sink:    logSink(fs.Output()),
	}
	if in.files != nil {
		opt.Extra = in.files()
	}
	job := nested.Job{Args: commandLine(fs), Stdout: stdout, Stderr: fs.Output(), Sink: sink}
	var escaped <-chan struct{}
	if in.stdin {
		var restore func()
		if escaped, restore, err = relayStdin(&job, in.tty, fs.Output()); err != nil {
			return d, true, err
		}
		defer restore()
	}
	code, err := runNestedJob(ctx, opt, job)
	if escaped != nil {
		select {
		case <-escaped:
			fmt.Fprintf(fs.Output(), "\r\ntwinboot: stopped with Ctrl-]\r\n")
			return d, true, exitError{130}
		default:
		}
	}
	if err != nil {
		return d, true, err
	}
	if code != 0 {
		return d, true, exitError{code}
	}
	return d, true, nil
}

// commandLine rebuilds the command's arguments from its parsed flag set:
// the command name, every flag that was set, and the positional arguments.
func commandLine(fs *flag.FlagSet) []string {
	// "twinboot ct run" is two words of the command line, not one.
	args := strings.Fields(strings.TrimPrefix(fs.Name(), "twinboot "))
	fs.Visit(func(f *flag.Flag) {
		args = append(args, "--"+f.Name+"="+f.Value.String())
	})
	if rest := fs.Args(); len(rest) > 0 {
		args = append(append(args, "--"), rest...)
	}
	return args
}

// relayStdin sets job up to read os.Stdin. On a terminal, the terminal goes
// raw (the inner side's tty echoes and edits lines), the inner command gets
// a pty when tty is set, and Ctrl-] closes the returned channel and stops
// the inner command. restore undoes the terminal changes.
func relayStdin(job *nested.Job, tty bool, stderr io.Writer) (escaped <-chan struct{}, restore func(), err error) {
	keys, err := openKeys(os.Stdin)
	if err != nil {
		return nil, nil, fmt.Errorf("stdin: %w", err)
	}
	job.Stdin = keys.r
	if !keys.tty {
		return nil, keys.close, nil
	}
	stop := make(chan struct{})
	var once sync.Once
	job.Stdin = &escapeReader{r: keys.r, stop: func() { once.Do(func() { close(stop) }) }}
	job.Stop = stop
	job.TTY = tty
	job.Rows, job.Cols = termSize(os.Stdin)
	job.Env = termEnv()
	fmt.Fprintf(stderr, "twinboot: your keys go to the lab machine (L1); Ctrl-] ends.\r\n")
	return stop, keys.close, nil
}

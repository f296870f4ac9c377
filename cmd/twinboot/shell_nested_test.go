package main

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/testutil"
	"github.com/twinboot/twinboot/lab"
	"github.com/twinboot/twinboot/nested/nestedtest"
)

// runScripted runs the twinboot binary with args and types keys into its
// stdin once the output shows each wait string in turn; then closes stdin.
func runScripted(t *testing.T, bin string, args []string, steps ...[2]string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb testutil.Screen
	cmd.Stdout, cmd.Stderr = &out, &errb
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer in.Close()
		for _, st := range steps {
			for !strings.Contains(out.String()+errb.String(), st[0]) {
				select {
				case <-ctx.Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
			io.WriteString(in, st[1])
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		code = ee.ExitCode()
	default:
		t.Fatalf("twinboot %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, out.String(), errb.String())
	}
	return out.String(), errb.String(), code
}

// TestShellModeNestedCLI drives the scripted way into the shells, as an
// instructor would: `vm --stdin` and `ct run` with --mode nested relay this
// process's stdin into L1. Stdin is a pipe here, so no terminal is made raw
// and the container's shell reads a script.
func TestShellModeNestedCLI(t *testing.T) {
	if host.InsideL1() {
		t.Skip("already inside L1")
	}
	testutil.Guest(t)
	nestedtest.Options(t) // skips (fails under make test) without QEMU
	becomeSubreaper(t)
	bin := labBinary(t)
	const script = "echo hi-$((6*7)); hostname; exit 5\n"

	t.Run("ct", func(t *testing.T) {
		stdout, stderr, code := runScripted(t, bin,
			[]string{"ct", "run", "--mode", "nested", "--read-only", "--", "/bin/sh"},
			[2]string{"", script})
		if code != 5 {
			t.Fatalf("exit %d, want the shell's 5\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if !strings.Contains(stdout, "hi-42\ntwinboot\n") {
			t.Errorf("stdout lacks the shell's answers (hi-42, the container's hostname):\n%s", stdout)
		}
		if !strings.Contains(stderr, "mode nested") {
			t.Errorf("stderr does not say the mode:\n%s", stderr)
		}
	})

	t.Run("vm", func(t *testing.T) {
		// The guest's tty reads keys only once the shell runs: type after
		// the prompt, as a student would.
		stdout, stderr, code := runScripted(t, bin,
			[]string{"vm", "--mode", "nested", "--stdin", "--timeout=5m", "--cmdline=" + lab.ShellCmdline},
			[2]string{report.Prefix, ""}, [2]string{"# ", strings.ReplaceAll(script, "\n", "\r")})
		if code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if !strings.Contains(stderr, "hi-42") || !strings.Contains(stdout, "(status 5)") {
			t.Errorf("want hi-42 on the console and the shell's status 5 in the summary\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
		}
	})

	if left := leftovers(t); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

// A subcommand's flag set is named "twinboot ct run": in L1 that must be
// two arguments again, not one.
func TestCommandLineSubcommand(t *testing.T) {
	cmd, _, err := rootCmd().Find([]string{"ct", "run"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.ParseFlags([]string{"--mode", "nested", "--read-only", "--", "/bin/sh", "-i"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"ct", "run", "--mode=nested", "--read-only=true", "--", "/bin/sh", "-i"}
	if got, _ := commandLine(cmd, cmd.Flags().Args()); !reflect.DeepEqual(got, want) {
		t.Errorf("commandLine = %q, want %q", got, want)
	}
}

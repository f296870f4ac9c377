package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestDispatch(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{"no args shows usage", nil, 2, "Commands:", ""},
		{"help", []string{"--help"}, 0, "Usage: twinboot <command>", ""},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"version", []string{"version"}, 0, "twinboot ", ""},
		{"version with args", []string{"version", "x"}, 2, "", "version takes no arguments"},
		{"bad flag", []string{"version", "--nope"}, 2, "", "unknown flag: --nope"},
		{"help for a command", []string{"help", "version"}, 0, "Usage: twinboot version", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := dispatch(tc.args, &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, errb.String())
			}
			if !strings.Contains(out.String(), tc.inStdout) {
				t.Errorf("stdout %q lacks %q", out.String(), tc.inStdout)
			}
			if !strings.Contains(errb.String(), tc.inStderr) {
				t.Errorf("stderr %q lacks %q", errb.String(), tc.inStderr)
			}
		})
	}
}

// Every command, and every subcommand, must explain itself with --help and
// exit 0.
func TestEveryCommandHasHelp(t *testing.T) {
	var walk func(path []string, c *cobra.Command)
	walk = func(path []string, c *cobra.Command) {
		path = append(path, c.Name())
		var out, errb bytes.Buffer
		if code := dispatch(append(path[1:], "--help"), &out, &errb); code != 0 {
			t.Errorf("%q --help: exit %d", path, code)
		}
		if c.Short == "" {
			t.Errorf("%q: no short description", path)
		}
		// The OCI verbs (ct create, …) are runc's command line, with runc's
		// statuses (docs/oci-runtime.md).
		if !c.DisableFlagParsing && !strings.Contains(out.String(), exitHelp) {
			t.Errorf("%q --help does not state the exit statuses", path)
		}
		if !strings.Contains(out.String(), "Usage: "+strings.Join(path, " ")) {
			t.Errorf("%q --help does not show its usage:\n%s", path, out.String())
		}
		for _, s := range c.Commands() {
			if s.Name() != "help" {
				walk(path, s)
			}
		}
	}
	walk(nil, rootCmd())
}

// The shells' completion scripts come from cobra.
func TestCompletion(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		var out, errb bytes.Buffer
		if code := dispatch([]string{"completion", sh}, &out, &errb); code != 0 || !strings.Contains(out.String(), "twinboot") {
			t.Errorf("completion %s: exit %d, %d bytes: %s", sh, code, out.Len(), errb.String())
		}
	}
}

package main

import (
	"bytes"
	"strings"
	"testing"
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
		{"bad flag", []string{"version", "--nope"}, 2, "", "flag provided but not defined"},
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

// Every command must explain itself with --help and exit 0.
func TestEveryCommandHasHelp(t *testing.T) {
	for name, c := range commands {
		var out, errb bytes.Buffer
		if code := dispatch([]string{name, "--help"}, &out, &errb); code != 0 {
			t.Errorf("%s --help: exit %d", name, code)
		}
		if c.summary == "" {
			t.Errorf("%s: empty summary", name)
		}
		if !strings.Contains(out.String()+errb.String(), "Usage: twinboot "+name) {
			t.Errorf("%s --help does not show its usage", name)
		}
	}
}

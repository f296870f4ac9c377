package main

import (
	"bytes"
	"strings"
	"testing"
)

// Bad uses of `twinboot lab` fail at once with a clear message, before any
// screen or engine starts. (Under `go test` stdout is not a terminal, which
// is itself one of the cases.)
func TestLabBadUse(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"argument", []string{"lab", "x"}, 2, "lab takes no arguments"},
		{"language", []string{"lab", "--lang", "fr"}, 2, `--lang "fr"`},
		{"runs", []string{"lab", "--runs", "0"}, 2, "--runs must be at least 1"},
		{"no terminal", []string{"lab", "--replay", "../../tui/testdata/run-nested.handwritten.jsonl"}, 1, "the lab needs a terminal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := dispatch(tc.args, &out, &errb); code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, errb.String())
			}
			if !strings.Contains(errb.String(), tc.msg) {
				t.Errorf("stderr %q lacks %q", errb.String(), tc.msg)
			}
		})
	}
}

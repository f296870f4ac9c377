package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/twinboot/twinboot/internal/doctor"
	"github.com/twinboot/twinboot/nested"
)

func TestDoctorJSON(t *testing.T) {
	var out, errb bytes.Buffer
	if code := dispatch([]string{"doctor", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var r doctor.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, out.String())
	}
	if want := nested.InspectKVM().Flavour; r.KVM.Flavour != want {
		t.Errorf("kvm flavour %q, want %q", r.KVM.Flavour, want)
	}
	if r.Mode.Mode == "" || r.Mode.Reason == "" {
		t.Errorf("no mode decision: %+v", r.Mode)
	}
}

func TestNestedUsage(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"doctor", "--mode", "sideways"}, 2, "unknown mode"},
		{[]string{"doctor", "extra"}, 2, "no arguments"},
		{[]string{"nested"}, 2, "needs a subcommand"},
		{[]string{"nested", "fly"}, 2, "unknown nested subcommand"},
		{[]string{"nested", "run"}, 2, "needs a command"},
		{[]string{"nested", "build", "x"}, 2, "no arguments"},
		{[]string{"nested", "run", "--qemu", "/nonexistent/qemu-system-x86_64", "--", "version"}, 1, "install the Debian package qemu-system-x86"},
	} {
		var errb bytes.Buffer
		if code := dispatch(tc.args, io.Discard, &errb); code != tc.code || !strings.Contains(errb.String(), tc.stderr) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, errb.String(), tc.code, tc.stderr)
		}
	}
}

func TestCommandLine(t *testing.T) {
	fs := flag.NewFlagSet("twinboot vm", flag.ContinueOnError)
	fs.String("mem", "128M", "")
	fs.Bool("json", false, "")
	fs.String("mode", "auto", "")
	if err := fs.Parse([]string{"--mode", "nested", "--mem", "64M", "--json", "--", "-x"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"vm", "--json=true", "--mem=64M", "--mode=nested", "--", "-x"}
	if got := commandLine(fs); !reflect.DeepEqual(got, want) {
		t.Errorf("commandLine = %q, want %q", got, want)
	}
}

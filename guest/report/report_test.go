package report

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	up := 1.25
	in := Report{Mode: "exit", KernelRelease: "6.1.0-twinboot", PID: 1, UptimeSec: &up, Interfaces: []string{"lo"}}
	line, err := in.Line()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		line string
		err  error
	}{
		{"plain", line, nil},
		{"kernel noise before", "[    0.5] foo " + line + "\r\n", nil},
		{"no prefix", "hello", ErrNoReport},
		{"bad json", Prefix + "{oops", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.line)
			switch {
			case tc.name == "bad json":
				if err == nil {
					t.Fatal("want an error for bad JSON")
				}
			case tc.err != nil:
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if got.KernelRelease != in.KernelRelease || got.PID != 1 || *got.UptimeSec != up {
					t.Fatalf("got %+v", got)
				}
			}
		})
	}
}

func TestContract(t *testing.T) {
	base := "console=ttyS0 quiet twinboot.mode=poweroff"
	if got, want := Cmdline(base, ModeShell, -1), "console=ttyS0 quiet twinboot.mode=shell"; got != want {
		t.Errorf("Cmdline shell = %q, want %q", got, want)
	}
	if got, want := Cmdline(base+" twinboot.syscalls=3", ModePoweroff, 7), "console=ttyS0 quiet twinboot.mode=poweroff twinboot.syscalls=7"; got != want {
		t.Errorf("Cmdline syscalls = %q, want %q", got, want)
	}
	if got := strings.Join(Args(ModeExit, 5), " "); got != "/init --mode exit --syscalls 5" {
		t.Errorf("Args = %q", got)
	}
}

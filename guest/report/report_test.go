package report

import (
	"errors"
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

package main

import (
	"reflect"
	"testing"

	"github.com/spf13/cobra"
)

// The flags given to density are given again, as set, to the density
// inside the lab machine, and read back the same there.
func TestDensityFlagsReachL1(t *testing.T) {
	parse := func(args []string) *densityFlags {
		t.Helper()
		d := newDensityFlags()
		cmd := &cobra.Command{}
		cmd.Flags().AddFlagSet(d.fs)
		cmd.Flags().String("format", "table", "")
		if err := cmd.ParseFlags(args); err != nil {
			t.Fatalf("parse %q: %v", args, err)
		}
		return d
	}
	d := parse([]string{"--vms", "3", "--steps", "1,2,4", "--ksm", "--window", "2s", "--format", "csv"})
	args, files := innerArgs(d.fs)
	want := []string{"--ksm=true", "--steps=1,2,4", "--vms=3", "--window=2s"}
	if !reflect.DeepEqual(args, want) || len(files) != 0 {
		t.Fatalf("inner args %q (files %v), want %q", args, files, want)
	}
	again := parse(args)
	if !reflect.DeepEqual(again.opt, d.opt) {
		t.Errorf("read back in L1 as %+v, want %+v", again.opt, d.opt)
	}
}

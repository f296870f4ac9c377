package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/testutil"
)

func TestCompareCommandsBadInput(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other.json")
	os.WriteFile(other, []byte(`{"schema":"someone-else/v3","runs":[]}`), 0o644)
	garbage := filepath.Join(dir, "garbage.json")
	os.WriteFile(garbage, []byte("not json"), 0o644)
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"bench runs 0", []string{"bench", "--runs", "0"}, 2, "--runs must be at least 1, got 0"},
		{"bench negative warmup", []string{"bench", "--warmup", "-1"}, 2, "--warmup must not be negative"},
		{"bench unknown format", []string{"bench", "--format", "xml"}, 2, `unknown format "xml"`},
		{"bench stray argument", []string{"bench", "x"}, 2, "unexpected arguments"},
		{"run bad mode", []string{"run", "--mode", "turbo"}, 2, `unknown mode "turbo"`},
		{"run bad size", []string{"run", "--mem", "lots"}, 2, "--mem"},
		// Checked before any slow work (an L1 boot, a benchmark).
		{"bench too many runs", []string{"bench", "--runs", "5000", "--mode", "nested"}, 2, "runs must be 1 to 1000"},
		{"vm no vCPUs", []string{"vm", "--cpus", "0", "--mode", "nested"}, 2, "bad vCPU count"},
		{"ct run NaN cores", []string{"ct", "run", "--cpu", "NaN", "--mode", "nested"}, 2, "ct run"},
		// density: every bad input is one line and exit 2, before L1 boots.
		{"density nothing", []string{"density", "--vms", "0", "--containers", "0", "--mode", "nested"}, 2, "nothing to start"},
		{"density negative", []string{"density", "--vms", "-2", "--mode", "nested"}, 2, "negative count"},
		{"density too many", []string{"density", "--vms", "1000", "--mode", "nested"}, 2, "--vms 1000 is more than 64"},
		{"density steps descend", []string{"density", "--steps", "4,2,1", "--mode", "nested"}, 2, "steps must ascend"},
		{"density step 0", []string{"density", "--steps", "0,4", "--mode", "nested"}, 2, "step 1 is 0"},
		{"density bad format", []string{"density", "--format", "xml", "--mode", "nested"}, 2, `unknown format "xml"`},
		{"density L1 too small", []string{"density", "--vms", "16", "--mem", "256M", "--l1-mem", "1G", "--mode", "nested"}, 2, "does not fit in memory"},
		{"density host too small", []string{"density", "--vms", "64", "--mem", "3G", "--mode", "nested"}, 2, "does not fit in memory"},
		{"chart no file", []string{"chart"}, 2, "which results file?"},
		{"chart unreadable file", []string{"chart", filepath.Join(dir, "missing.json")}, 1, "no such file or directory"},
		{"chart not json", []string{"chart", garbage}, 1, "parse results"},
		{"chart unknown schema", []string{"chart", other}, 1, `unknown results schema "someone-else/v3"`},
		{"chart unknown format", []string{"chart", other, "--format", "gif"}, 2, `unknown chart format "gif"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := dispatch(tc.args, &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, errb.String())
			}
			if !strings.Contains(errb.String(), tc.inStderr) {
				t.Errorf("stderr %q lacks %q", errb.String(), tc.inStderr)
			}
			if out.Len() != 0 {
				t.Errorf("stdout not empty on error: %q", out.String())
			}
		})
	}
}

// With --json, an error is one JSON object on stderr and stdout stays empty.
func TestRunJSONErrorIsMachineReadable(t *testing.T) {
	t.Setenv("TWINBOOT_BUILD", t.TempDir()) // no guest built there
	var out, errb bytes.Buffer
	if code := dispatch([]string{"run", "--json", "--mode", "native"}, &out, &errb); code != 1 {
		t.Fatalf("exit %d; stderr %s", code, errb.String())
	}
	var msg struct{ Command, Error string }
	if err := json.Unmarshal(errb.Bytes(), &msg); err != nil || msg.Command != "run" || !strings.Contains(msg.Error, "guest not built") {
		t.Errorf("stderr %q is not a JSON error about the missing guest (%v)", errb.String(), err)
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q, want nothing", out.String())
	}
}

func TestChartCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "results.json")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := compare.WriteJSON(f, tinyResults()); err != nil {
		t.Fatal(err)
	}
	f.Close()
	outDir := filepath.Join(dir, "charts")
	var out, errb bytes.Buffer
	if code := dispatch([]string{"chart", in, "--out", outDir, "--format", "svg"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	files := strings.Fields(out.String())
	if len(files) != 3 {
		t.Fatalf("listed %q, want 3 SVG files", files)
	}
	for _, f := range files {
		if filepath.Ext(f) != ".svg" || filepath.Dir(f) != outDir {
			t.Errorf("unexpected file %s", f)
		}
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
}

// tinyResults is a hand-made results document: input for the chart command.
func tinyResults() compare.Results {
	side := func(name string, ms int) *compare.Side {
		at := time.Duration(ms) * time.Millisecond
		return &compare.Side{Name: name, Reason: "exited", ReadyNS: int64(at),
			Phases: []event.Phase{{Side: event.Side(name), Name: "process start"}, {Side: event.Side(name), Name: "READY seen", At: at}},
			Memory: compare.Memory{CgroupPeakBytes: 1 << 20}}
	}
	return compare.Results{Schema: compare.Schema, Created: time.Now(), Command: "run", Mode: "native",
		Runs: []compare.Run{{Index: 0, VM: side("vm", 300), Container: side("container", 20)}}}
}

// The end-to-end test: the real binary, `twinboot run --json`, whose stdout
// must be one JSON document with both READY reports and the right kernel
// facts. On a host without hardware KVM (kvm_pvm here) --mode auto runs it
// in nested mode; that is the path CI takes.
func TestRunJSONEndToEnd(t *testing.T) {
	testutil.Root(t)
	a := testutil.Guest(t)
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		if !host.KVM().HardwareBacked {
			testutil.Missing(t, "no hardware KVM and no qemu-system-x86_64 for nested mode (Debian package qemu-system-x86)")
		}
	}
	// A fresh static binary named twinboot: nested mode puts this very
	// executable into the lab machine.
	bin := filepath.Join(t.TempDir(), "twinboot")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build twinboot: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "run", "--json", "--mode", "auto")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res, derr := compare.DecodeResults(bytes.NewReader(stdout.Bytes()))
	if derr != nil {
		t.Fatalf("stdout is not one results document: %v (run: %v; stderr: %s)", derr, err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(stdout.Bytes()))
	var v any
	dec.Decode(&v)
	if dec.More() {
		t.Error("stdout holds more than one JSON value")
	}
	if err != nil {
		t.Fatalf("twinboot run: %v; stderr: %s", err, stderr.String())
	}
	if len(res.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(res.Runs))
	}
	r := res.Runs[0]
	if r.VM == nil || r.VM.Report == nil || r.Container == nil || r.Container.Report == nil {
		t.Fatalf("want both READY reports: vm %+v, container %+v", r.VM, r.Container)
	}
	k := r.Kernel
	// The host is where the figures were taken: the lab machine in nested mode.
	if k.HostRelease != res.Host.KernelRelease || k.HostRelease == "" {
		t.Errorf("host release %q vs host facts %q", k.HostRelease, res.Host.KernelRelease)
	}
	if k.VMRelease != a.KernelRelease || k.VMSameAsHost || k.VMBootIDSame {
		t.Errorf("the VM must run the lab kernel %s with its own boot_id: %+v", a.KernelRelease, k)
	}
	if k.ContainerRelease != res.Host.KernelRelease || !k.ContainerSameAsHost || !k.ContainerBootIDSame {
		t.Errorf("the container must run on the host's kernel: %+v", k)
	}
	if k.KernelsInRAM != 2 || k.GuestKernelBytes == 0 {
		t.Errorf("kernels in RAM %d, guest kernel %d bytes", k.KernelsInRAM, k.GuestKernelBytes)
	}
	if k.VMSyscalls != compare.DefaultSyscalls || k.ContainerSyscalls != compare.DefaultSyscalls {
		t.Errorf("syscall bursts: vm %d, container %d", k.VMSyscalls, k.ContainerSyscalls)
	}
	if res.Mode == "nested" {
		if !res.Emulated || !r.VM.Emulated || !r.Container.Emulated {
			t.Error("figures from nested mode must be marked emulated")
		}
		for _, p := range append(r.VM.Phases, r.Container.Phases...) {
			if !p.Emulated {
				t.Errorf("phase %s/%s not marked emulated", p.Side, p.Name)
			}
		}
	}
}

// The twinboot in L1 is given the experiment's flags as this command line
// set them, host files renamed to their copies in L1, and nothing else.
func TestInnerArgs(t *testing.T) {
	kernel := filepath.Join(t.TempDir(), "vmlinuz")
	e := newExperimentFlags(true)
	cmd := &cobra.Command{Use: "bench"} // as benchCmd wires it
	cmd.Flags().AddFlagSet(e.fs)
	modeFlag(cmd.Flags(), host.ModeAuto, "")
	cmd.Flags().String("format", "table", "")
	if err := cmd.ParseFlags([]string{"--peers", "--runs", "3", "--kernel", kernel, "--mode", "nested", "--format", "json"}); err != nil {
		t.Fatal(err)
	}
	args, files := innerArgs(e.fs)
	want := []string{"--kernel=/extra/kernel/vmlinuz", "--peers=true", "--runs=3"}
	if !reflect.DeepEqual(args, want) {
		t.Errorf("inner args %q, want %q", args, want)
	}
	if len(files) != 1 || files[0].Src != kernel || files[0].Dst != "/extra/kernel/vmlinuz" {
		t.Errorf("files %+v", files)
	}
}

// The status line says how long a benchmark has run and, once a run is
// done, how long the rest should take at the same pace.
func TestEstimate(t *testing.T) {
	for _, tc := range []struct {
		elapsed     time.Duration
		done, total int
		want        string
	}{
		{3 * time.Second, 0, 10, "3s elapsed"},
		{10 * time.Second, 2, 10, "10s elapsed, ~40s left"},
		{90 * time.Second, 10, 10, "1m30s elapsed"},
	} {
		if got := estimate(tc.elapsed, tc.done, tc.total); got != tc.want {
			t.Errorf("estimate(%v, %d, %d) = %q, want %q", tc.elapsed, tc.done, tc.total, got, tc.want)
		}
	}
}

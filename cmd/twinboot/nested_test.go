package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/twinboot/twinboot/doctor"
	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/testutil"
	"github.com/twinboot/twinboot/nested"
	"github.com/twinboot/twinboot/nested/nestedtest"
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
	if want := host.KVM().Flavour; r.KVM.Flavour != want {
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
	root := rootCmd()
	cmd, args, err := root.Find([]string{"vm"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.ParseFlags([]string{"--mode", "nested", "--mem", "64M", "--json", "--kernel", "/boot/vmlinuz-x",
		"--disk", "/tmp/a.img", "--disk", "/srv/b.img,ro", "--", "-x"}); err != nil {
		t.Fatal(err)
	}
	args = cmd.Flags().Args()
	// Host files (the kernel, each disk image) are named by their copies in
	// L1, and listed to be carried there.
	want := []string{"vm", "--disk=/extra/disks/0-a.img;/extra/disks/1-b.img,ro", "--json=true", "--kernel=/extra/kernel/vmlinuz-x",
		"--mem=64M", "--mode=nested", "--", "-x"}
	got, files := commandLine(cmd, args)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("commandLine = %q, want %q", got, want)
	}
	wantFiles := []nested.File{{Src: "/tmp/a.img", Dst: "/extra/disks/0-a.img"}, {Src: "/srv/b.img", Dst: "/extra/disks/1-b.img"},
		{Src: "/boot/vmlinuz-x", Dst: "/extra/kernel/vmlinuz-x"}}
	if !reflect.DeepEqual(files, wantFiles) {
		t.Errorf("files = %+v, want %+v", files, wantFiles)
	}
}

// TestVMModeNested runs `twinboot vm --mode nested --json` end to end: the
// command re-runs itself in L1, where the VM boots under kvm-amd, and the
// host relays its JSON lines, whose phases are labelled emulated.
func TestVMModeNested(t *testing.T) {
	if host.InsideL1() {
		t.Skip("already inside L1")
	}
	testutil.Guest(t)
	nestedtest.Options(t) // skips (fails under make test) without QEMU or build/bin/twinboot
	var out, errb bytes.Buffer
	code := dispatch([]string{"vm", "--mode", "nested", "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	var sawMode, sawResult, sawEmulated bool
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if strings.Contains(line, `"kind":"vm-result"`) {
			sawResult = true
			continue
		}
		ev, err := event.Decode([]byte(line))
		if err != nil {
			t.Errorf("stdout line is not an event: %q (%v)", line, err)
			continue
		}
		switch e := ev.(type) {
		case event.Log:
			sawMode = sawMode || strings.HasPrefix(e.Msg, "mode nested")
		case event.Phase:
			if !e.Emulated {
				t.Errorf("phase %q from L1 not labelled emulated", e.Name)
			}
			sawEmulated = true
		}
	}
	if !sawMode || !sawResult || !sawEmulated {
		t.Errorf("mode line %v, vm-result %v, phases %v in:\n%s", sawMode, sawResult, sawEmulated, out.String())
	}
}

// A kernel the lab did not build, Debian's own vmlinuz (the one nested
// mode's L1 runs), is carried from this host into L1 by `vm --kernel` and
// boots there to READY: the probe reports Debian's release, not the lab's.
func TestVMOwnKernelNested(t *testing.T) {
	if host.InsideL1() {
		t.Skip("already inside L1")
	}
	g := testutil.Guest(t)
	nestedtest.Options(t)
	debian, _ := filepath.Glob(filepath.Join(guest.BuildDir(), "nested", "linux-image-*", "vmlinuz-*"))
	if len(debian) == 0 {
		testutil.Missing(t, "no Debian vmlinuz under %s/nested (make nested)", guest.BuildDir())
	}
	var out, errb bytes.Buffer
	code := dispatch([]string{"vm", "--mode", "nested", "--json", "--kernel", debian[0], "--mem", "256M", "--timeout", "10m"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if !strings.Contains(line, `"kind":"vm-result"`) {
			continue
		}
		var r struct {
			Data hypervisor.Result `json:"data"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		rel := ""
		if r.Data.Report != nil {
			rel = r.Data.Report.KernelRelease
		}
		want := strings.TrimPrefix(filepath.Base(debian[0]), "vmlinuz-")
		if rel != want || rel == g.KernelRelease {
			t.Fatalf("the probe ran on kernel %q, want Debian's %q (the lab's is %s)", rel, want, g.KernelRelease)
		}
		return
	}
	t.Fatalf("no vm-result in:\n%s\nstderr:\n%s", out.String(), errb.String())
}

// `ct run --mode nested --rootfs DIR` carries the host directory into L1
// (it answered "rootfs not found"), and `doctor --mode nested` shows the
// view from inside L1 after the host's.
func TestOwnRootfsAndDoctorNested(t *testing.T) {
	if host.InsideL1() {
		t.Skip("already inside L1")
	}
	testutil.Root(t)
	g := testutil.Guest(t)
	nestedtest.Options(t)
	rootfs := filepath.Join(t.TempDir(), "myroot")
	if out, err := exec.Command("cp", "-a", g.Rootfs, rootfs).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "marker"), []byte("mine-42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := dispatch([]string{"ct", "run", "--mode", "nested", "--rootfs", rootfs, "--", "/bin/sh", "-c", "cat /marker; uname -r"}, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "mine-42") {
		t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}

	out.Reset()
	errb.Reset()
	if code := dispatch([]string{"doctor", "--mode", "nested"}, &out, &errb); code != 0 {
		t.Fatalf("doctor --mode nested: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	_, inside, ok := strings.Cut(out.String(), "inside nested mode's L1 machine")
	if !ok {
		t.Fatalf("no L1 section in:\n%s", out.String())
	}
	for _, want := range []string{"inside L1     yes", "flavour svm, hardware-backed yes, nested paging yes", "cgroup        v2"} {
		if !strings.Contains(inside, want) {
			t.Errorf("L1's report lacks %q:\n%s", want, inside)
		}
	}
}

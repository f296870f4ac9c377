package container

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/internal/testutil"
)

// A bundle written by `runc spec`, edited only for args and terminal (and
// its root path), runs under twinboot: capabilities, rlimits,
// noNewPrivileges and the deny-all device rule included.
func TestRuncSpecBundleRuns(t *testing.T) {
	rootfs := labRootfs(t)
	runc, err := exec.LookPath("runc")
	if err != nil {
		testutil.Missing(t, "runc is not installed (apt-get install runc)")
	}
	dir := t.TempDir()
	if out, err := exec.Command(runc, "spec", "--bundle", dir).CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v: %s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	p := m["process"].(map[string]any)
	p["terminal"] = false
	p["args"] = []any{"/init", "--mode", "exit"}
	m["root"].(map[string]any)["path"] = rootfs
	b, _ = json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(t)
	res, err := Run(context.Background(), Spec{Bundle: dir, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ExitCode != 0 || res.Report == nil {
		t.Fatalf("exit %d (%s), report %v", res.ExitCode, res.Reason, res.Report)
	}
	if res.Report.Hostname != "runc" || res.Report.PID != 1 {
		t.Errorf("hostname %q pid %d, want runc and 1", res.Report.Hostname, res.Report.PID)
	}
	// What the config asks of the process is what the process gets: the
	// three capabilities of runc's default (KILL, NET_BIND_SERVICE,
	// AUDIT_WRITE = bits 5, 10, 29) in every set, RLIMIT_NOFILE 1024,
	// no_new_privs, and a deny-all device rule that still lets /dev/null
	// through (the runtime's default devices).
	var out bytes.Buffer
	res, err = Run(context.Background(), Spec{Bundle: dir, Timeout: 30 * time.Second, Stdout: &out, Stderr: &out,
		Args: []string{"/bin/sh", "-c", "grep -E '^(Cap|NoNewPrivs)' /proc/self/status; ulimit -n; echo x > /dev/null && echo null-ok"}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run: %v, exit %d, output %q", err, res.ExitCode, out.String())
	}
	for _, want := range []string{"CapEff:\t0000000020000420", "CapBnd:\t0000000020000420", "CapAmb:\t0000000020000420",
		"NoNewPrivs:\t1", "\n1024\n", "null-ok"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	assertNoLeak(t, before, takeSnapshot(t))
}

// The bundle twinboot writes (`twinboot ct spec`) runs under runc.
func TestOwnSpecRunsUnderRunc(t *testing.T) {
	rootfs := labRootfs(t)
	runc, err := exec.LookPath("runc")
	if err != nil {
		testutil.Missing(t, "runc is not installed (apt-get install runc)")
	}
	bundle := writeBundle(t, rootfs, DefaultArgs, nil)
	state := t.TempDir()
	id := "twinboot-test-" + newID()
	cmd := exec.Command(runc, "--root", state, "run", "--bundle", bundle, id)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	t.Cleanup(func() { exec.Command(runc, "--root", state, "delete", "--force", id).Run() })
	if err != nil {
		t.Fatalf("runc run: %v: %s", err, stderr.String())
	}
	var found bool
	for _, line := range strings.Split(stdout.String(), "\n") {
		if r, err := report.Parse(line); err == nil {
			found = true
			if r.PID != 1 || r.Hostname != DefaultHostname {
				t.Errorf("under runc: pid %d hostname %q", r.PID, r.Hostname)
			}
		}
	}
	if !found {
		t.Fatalf("no READY line from runc: %q", stdout.String())
	}
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twinboot/twinboot/internal/testutil"
)

// make install puts a twinboot that works from any directory: it finds
// its guest in PREFIX/lib/twinboot, runs a container from there, and
// doctor says where it found it. make uninstall removes exactly that.
func TestInstallRunsFromAnywhere(t *testing.T) {
	testutil.Root(t)
	testutil.Guest(t)
	if _, err := exec.LookPath("make"); err != nil {
		testutil.Missing(t, "make: %v", err)
	}
	src, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	prefix := t.TempDir()
	make := func(target string) {
		t.Helper()
		cmd := exec.Command("make", "-C", src, target, "PREFIX="+prefix)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make %s: %v\n%s", target, err, out)
		}
	}
	make("install")
	bin := filepath.Join(prefix, "bin", "twinboot")
	env := []string{"PATH=" + os.Getenv("PATH")} // no TWINBOOT_BUILD: it must find its own
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = "/", env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("twinboot %s from /: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	lib := filepath.Join(prefix, "lib", "twinboot")
	if out := run("guest", "info"); !strings.Contains(out, lib) {
		t.Errorf("guest info does not use the installed guest in %s:\n%s", lib, out)
	}
	if out := run("doctor"); !strings.Contains(out, "build dir     "+lib+" (from the installed tree") {
		t.Errorf("doctor does not say it found the installed tree:\n%s", out)
	}
	if out := run("ct", "run", "--", "/bin/sh", "-c", "echo installed-ok"); !strings.Contains(out, "installed-ok") {
		t.Errorf("a container from the installed rootfs did not run:\n%s", out)
	}
	make("uninstall")
	var left []string
	filepath.Walk(prefix, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if _, err := os.Stat(lib); !os.IsNotExist(err) || len(left) > 0 {
		t.Errorf("make uninstall left %s (%v) and files %q", lib, err, left)
	}
}

package network

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/internal/testutil"
)

const helperEnv = "TWINBOOT_NET_TEST_HELPER"

// TestMain turns the test binary into the helper of
// TestCleanupAfterSIGKILL when asked: it builds a lab network with a
// container and a TAP on it, prints the network's name and waits to be
// killed.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		l, err := New(Config{})
		if err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			os.Exit(1)
		}
		v, err := l.Reserve(KindVM, "vm", "vm")
		if err == nil {
			_, err = l.AddTAP(v)
		}
		if err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("ready " + l.Name() + "\n")
		select {}
	}
	container.MaybeInit() // the test binary is the containers' init too
	os.Exit(m.Run())
}

// A twinboot killed with SIGKILL leaves its network behind; the next
// CleanupStale removes it (namespace, directory, addresses), and the
// host's namespace is as it was.
func TestCleanupAfterSIGKILL(t *testing.T) {
	needRoot(t)
	before := testutil.NetSnapshot(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	name, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
	if !ok {
		t.Fatalf("helper said %q", line)
	}
	dir := filepath.Join(StateRoot, name)
	netns := filepath.Join(dir, "netns")
	if !mounted(t, netns) {
		t.Fatalf("the helper's namespace is not bound on %s", netns)
	}
	// While its owner lives, the network is left alone.
	if removed, err := CleanupStale(); err != nil || slices.Contains(removed, name) {
		t.Fatalf("CleanupStale with the owner alive: %v, %v", removed, err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("after SIGKILL the network's directory is gone already (%v): the test proves nothing", err)
	}
	removed, err := CleanupStale()
	if err != nil || !slices.Contains(removed, name) {
		t.Fatalf("CleanupStale = %v, %v; want %s removed", removed, err, name)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists (%v)", dir, err)
	}
	if mounted(t, netns) {
		t.Errorf("the namespace is still bound on %s", netns)
	}
	if after := testutil.NetSnapshot(t); !slices.Equal(before, after) {
		t.Errorf("the host's network namespace changed:\nbefore %q\nafter  %q", before, after)
	}
}

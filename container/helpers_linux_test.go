package container

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/twinboot/twinboot/internal/testutil"
)

// labRootfs returns the lab's rootfs (probe at /init, static busybox), or
// skips (fails under make test) when `make guest` has not run.
func labRootfs(t testing.TB) string {
	t.Helper()
	testutil.Root(t)
	return testutil.Guest(t).Rootfs
}

// writeBundle writes an OCI bundle whose root is rootfs, from DefaultSpec
// changed by edit, and returns its directory (removed after the test).
func writeBundle(t testing.TB, rootfs string, args []string, edit func(m map[string]any)) string {
	t.Helper()
	dir := t.TempDir()
	b, err := json.Marshal(DefaultSpec(rootfs, args))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

var (
	initOnce sync.Once
	initPath string
	initErr  error
)

// buildInit builds container/cmd/twinboot-init once per test binary, so that
// tests and benchmarks exercise the init binary the command line uses, from
// the current source.
func buildInit(t testing.TB) string {
	t.Helper()
	initOnce.Do(func() {
		dir, err := os.MkdirTemp("", "twinboot-init-")
		if err != nil {
			initErr = err
			return
		}
		os.Chmod(dir, 0o755)
		initPath = filepath.Join(dir, InitBinaryName)
		cmd := exec.Command("go", "build", "-o", initPath, "./cmd/twinboot-init")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			initErr = fmt.Errorf("go build twinboot-init: %v: %s", err, out)
		}
	})
	if initErr != nil {
		t.Fatal(initErr)
	}
	return initPath
}

// removeBuiltInit deletes what buildInit made (called from TestMain).
func removeBuiltInit() {
	if initPath != "" {
		os.RemoveAll(filepath.Dir(initPath))
	}
}

package container

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Each bad input gives its own sentinel error with a clear message, and
// leaves nothing on the host.
func TestBadInputs(t *testing.T) {
	rootfs := labRootfs(t)
	bundleWith := func(edit func(m map[string]any)) string { return writeBundle(t, rootfs, DefaultArgs, edit) }
	rawBundle := func(config string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	emptyDir := t.TempDir()
	tests := []struct {
		name     string
		spec     Spec
		want     error
		mentions []string
	}{
		{"missing bundle", Spec{Bundle: filepath.Join(emptyDir, "nope")}, ErrNoBundle, []string{"nope"}},
		{"bundle without config.json", Spec{Bundle: emptyDir}, ErrNoBundle, []string{"config.json"}},
		{"invalid JSON", Spec{Bundle: rawBundle(`{"ociVersion": "1.0.2", "process": {`)}, ErrBadConfig, []string{"config.json"}},
		{"unknown field", Spec{Bundle: rawBundle(`{"ociVersion": "1.0.2", "root": {"path": "/"}, "frobnicate": 1}`)}, ErrBadConfig, []string{"frobnicate"}},
		{"unsupported fields", Spec{Bundle: bundleWith(func(m map[string]any) {
			m["hooks"] = map[string]any{"createContainer": []any{map[string]any{"path": "/bin/true"}}}
			m["process"].(map[string]any)["apparmorProfile"] = "docker-default"
			m["process"].(map[string]any)["terminal"] = true
			m["linux"].(map[string]any)["seccomp"] = map[string]any{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/x.sock"}
		})}, ErrUnsupported, []string{"hooks.createContainer", "process.apparmorProfile", "process.terminal", "linux.seccomp.listenerPath"}},
		// A kernel parameter that is not the container's own would change
		// the host; one of a namespace the container lacks likewise.
		{"host sysctl", Spec{Bundle: bundleWith(func(m map[string]any) {
			m["linux"].(map[string]any)["sysctl"] = map[string]any{"kernel.core_pattern": "|/tmp/x"}
		})}, ErrBadConfig, []string{"kernel.core_pattern", "not namespaced"}},
		{"sysctl without its namespace", Spec{Bundle: bundleWith(func(m map[string]any) {
			l := m["linux"].(map[string]any)
			l["sysctl"] = map[string]any{"net.ipv4.ip_forward": "1"}
			l["namespaces"] = []any{map[string]any{"type": "mount"}, map[string]any{"type": "pid"}}
			delete(m, "hostname")
		})}, ErrBadConfig, []string{"net.ipv4.ip_forward", "network namespace"}},
		{"seccomp notify", Spec{Bundle: bundleWith(func(m map[string]any) {
			m["linux"].(map[string]any)["seccomp"] = map[string]any{"defaultAction": "SCMP_ACT_NOTIFY"}
		})}, ErrUnsupported, []string{"SCMP_ACT_NOTIFY"}},
		{"unknown capability", Spec{Rootfs: rootfs, CapAdd: []string{"CAP_FLY"}}, ErrBadConfig, []string{"CAP_FLY"}},
		{"cpu NaN", Spec{Rootfs: rootfs, CPUs: math.NaN()}, ErrBadConfig, []string{"NaN", "not a number"}},
		{"cpu Inf", Spec{Rootfs: rootfs, CPUs: math.Inf(1)}, ErrBadConfig, []string{"+Inf", "not a number"}},
		{"memory below the init's needs", Spec{Rootfs: rootfs, MemoryLimit: 1}, ErrBadConfig, []string{"1 bytes", "2 MiB"}},
		{"relative cwd", Spec{Bundle: bundleWith(func(m map[string]any) {
			m["process"].(map[string]any)["cwd"] = "tmp"
		})}, ErrBadConfig, []string{`"tmp"`, "absolute"}},
		{"huge config", Spec{Bundle: bundleWith(func(m map[string]any) {
			m["annotations"] = map[string]any{"padding": strings.Repeat("x", 5<<20)}
		})}, ErrBadConfig, []string{"bytes", "4 MiB"}},
		{"missing rootfs", Spec{Rootfs: filepath.Join(emptyDir, "no-rootfs")}, ErrNoRootfs, []string{"no-rootfs"}},
		{"bundle root missing", Spec{Bundle: bundleWith(func(m map[string]any) {
			m["root"].(map[string]any)["path"] = "does-not-exist"
		})}, ErrNoRootfs, []string{"does-not-exist"}},
		{"missing args", Spec{Bundle: bundleWith(func(m map[string]any) {
			m["process"].(map[string]any)["args"] = []any{}
		})}, ErrNoArgs, nil},
		{"binary not found", Spec{Rootfs: rootfs, Args: []string{"/no/such/binary"}}, ErrBinaryNotFound, []string{"/no/such/binary"}},
		{"binary not in PATH", Spec{Rootfs: rootfs, Args: []string{"no-such-command"}}, ErrBinaryNotFound, []string{"no-such-command", "PATH"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := takeSnapshot(t)
			_, err := Run(context.Background(), withTimeout(tt.spec))
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			for _, m := range tt.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			assertNoLeak(t, before, takeSnapshot(t))
		})
	}
}

// A failure inside the init (here: a mount point the read-only root lacks)
// comes back as the init's own message, and nothing is left behind.
func TestInitFailureIsReported(t *testing.T) {
	rootfs := labRootfs(t)
	bundle := writeBundle(t, rootfs, DefaultArgs, func(m map[string]any) {
		m["mounts"] = append(m["mounts"].([]any), map[string]any{"destination": "/no-such-dir", "type": "tmpfs", "source": "tmpfs"})
	})
	before := takeSnapshot(t)
	_, err := Run(context.Background(), withTimeout(Spec{Bundle: bundle}))
	if !errors.Is(err, ErrInit) || !strings.Contains(err.Error(), "/no-such-dir") {
		t.Fatalf("error %v, want ErrInit naming /no-such-dir", err)
	}
	assertNoLeak(t, before, takeSnapshot(t))
}

func withTimeout(s Spec) Spec {
	s.Timeout = 30 * time.Second
	return s
}

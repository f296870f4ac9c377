package container

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Run (ct run --bundle) runs a bundle's hooks too, at the same points of a
// run as the OCI lifecycle does, each with the state on stdin.
func TestRunHooks(t *testing.T) {
	rootfs := labRootfs(t)
	out := filepath.Join(t.TempDir(), "hooks.log")
	hook := func(name string) map[string]any {
		return map[string]any{"path": "/bin/sh", "args": []any{"sh", "-c", "printf '%s ' " + name + " >> " + out + "; cat >> " + out + "; echo >> " + out}}
	}
	bundle := writeBundle(t, rootfs, []string{"/bin/true"}, func(m map[string]any) {
		m["hooks"] = map[string]any{
			"prestart":  []any{hook("prestart")},
			"poststart": []any{hook("poststart")},
			"poststop":  []any{hook("poststop")},
		}
	})
	res := runOK(t, Spec{Bundle: bundle})
	if res.Reason != ReasonExited || res.ExitCode != 0 {
		t.Fatalf("run: %s %d", res.Reason, res.ExitCode)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"prestart creating", "poststart running", "poststop stopped"}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != len(want) {
		t.Fatalf("hooks ran:\n%s", b)
	}
	for i, l := range lines {
		name, js, _ := strings.Cut(l, " ")
		var st struct{ ID, Status, Bundle string }
		if err := json.Unmarshal([]byte(js), &st); err != nil {
			t.Fatalf("%s got %q: %v", name, js, err)
		}
		if name+" "+st.Status != want[i] || st.ID != res.ID || st.Bundle != bundle {
			t.Errorf("hook %d: %s %+v, want %s for %s", i, name, st, want[i], res.ID)
		}
	}

	// A failing prestart hook fails the run before the workload starts.
	bundle = writeBundle(t, rootfs, []string{"/bin/true"}, func(m map[string]any) {
		m["hooks"] = map[string]any{"prestart": []any{map[string]any{"path": "/bin/false"}}}
	})
	if _, err := Run(t.Context(), Spec{Bundle: bundle}); err == nil || !strings.Contains(err.Error(), "prestart hook 0") {
		t.Fatalf("run with a failing prestart hook: %v", err)
	}
}

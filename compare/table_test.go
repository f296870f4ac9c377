package compare

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteTable(t *testing.T) {
	for _, tc := range []struct {
		command string
		want    []string
	}{
		{"run", []string{"VM (own kernel)", "container (host's kernel)", "time to READY", "2.52 s", "VM/container",
			"first KVM_RUN", "pivot_root done", "guest RAM touched", "cgroup peak", "6.1.0-twinboot",
			"same boot_id as host", "kernels in RAM: 2", "guest kernel in memory: 6.0 MiB", "emulated",
			"qemu", "skipped: qemu-system-x86_64 is not installed", "ours/peer"}},
		{"bench", []string{"3 measured runs (+1 warmup)", "median", "p90", "ready_ns", "container 0.81×", "touched_bytes"}},
	} {
		t.Run(tc.command, func(t *testing.T) {
			res := synthetic(3)
			res.Command = tc.command
			var buf bytes.Buffer
			if err := WriteTable(&buf, res); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("table lacks %q:\n%s", w, buf.String())
				}
			}
		})
	}
}

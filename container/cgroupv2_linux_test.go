package container_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twinboot/twinboot/internal/host"

	cgroups "github.com/containerd/cgroups/v3"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/internal/testutil"
	"github.com/twinboot/twinboot/nested/nestedtest"
)

// TestCgroupV2 proves the pure cgroup v2 path: memory, pids and cpu limits,
// the OOM reason and the memory peak from memory.peak. This machine is a
// v1/v2 hybrid whose v2 hierarchy has no controllers, so here the test runs
// itself inside the nested-mode L1 machine, which mounts a pure cgroup2 at
// /sys/fs/cgroup (the layout most users have). On a host that is pure v2 it
// runs directly.
func TestCgroupV2(t *testing.T) {
	testutil.Root(t)
	if cgroups.Mode() != cgroups.Unified {
		if host.InsideL1() {
			t.Fatal("L1 does not have a pure cgroup v2 layout")
		}
		nestedtest.RunInL1(t)
		return
	}
	// A read-only root with a tmpfs on /tmp: this test is about cgroups,
	// not the overlay (nested/l1_peers_test.go covers the overlay in L1).
	rootfs := testutil.Guest(t).Rootfs
	bundle := t.TempDir()
	spec := container.DefaultSpec(rootfs, nil)
	spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"})
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, s container.Spec) container.Result {
		t.Helper()
		s.Bundle, s.Timeout = bundle, 2*time.Minute
		res, err := container.Run(context.Background(), s)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if res.CgroupVersion != "v2" {
			t.Errorf("cgroup version %q, want v2", res.CgroupVersion)
		}
		return res
	}

	t.Run("probe", func(t *testing.T) {
		res := run(t, container.Spec{MemoryLimit: 64 << 20, PidsLimit: 32, CPUs: 0.5})
		if res.ExitCode != 0 || res.Report == nil {
			t.Fatalf("exit %d (%s), report %v", res.ExitCode, res.Reason, res.Report)
		}
		// The cgroup namespace is rooted at the container's own cgroup.
		if res.Report.Cgroup != "0::/" {
			t.Errorf("cgroup seen inside %q, want 0::/", res.Report.Cgroup)
		}
		if res.Memory.CgroupPeakBytes == 0 || res.Memory.CgroupPeakBytes > 64<<20 {
			t.Errorf("memory.peak %d", res.Memory.CgroupPeakBytes)
		}
	})
	t.Run("peak without a limit", func(t *testing.T) {
		res := run(t, container.Spec{})
		if res.ExitCode != 0 || res.Memory.CgroupPeakBytes == 0 {
			t.Errorf("exit %d, memory.peak %d: the memory controller must be on without a limit too", res.ExitCode, res.Memory.CgroupPeakBytes)
		}
	})
	t.Run("limits are written", func(t *testing.T) {
		var out bytes.Buffer
		// The default spec's read-only cgroup2 mount, inside the cgroup
		// namespace, shows the container's own cgroup with the limits
		// the runtime wrote; writing them back is refused.
		res := run(t, container.Spec{MemoryLimit: 48 << 20, PidsLimit: 20, CPUs: 0.5, Stdout: &out, Stderr: &out, Args: []string{"/bin/sh", "-c",
			"cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max; echo max > /sys/fs/cgroup/pids.max || echo refused"}})
		want := "50331648\n20\n50000 100000\n/bin/sh: can't create /sys/fs/cgroup/pids.max: Read-only file system\nrefused\n"
		if res.ExitCode != 0 || out.String() != want {
			t.Errorf("exit %d, limits %q, want %q", res.ExitCode, out.String(), want)
		}
	})
	t.Run("oom-killed", func(t *testing.T) {
		res := run(t, container.Spec{MemoryLimit: 16 << 20, Args: []string{"/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"}})
		if res.Reason != container.ReasonOOMKilled {
			t.Errorf("reason %s (signal %s, exit %d), want oom-killed", res.Reason, res.Signal, res.ExitCode)
		}
	})
	t.Run("pids limit", func(t *testing.T) {
		var out bytes.Buffer
		run(t, container.Spec{PidsLimit: 4, Stdout: &out, Stderr: &out,
			Args: []string{"/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 30 & done; echo done"}})
		if !strings.Contains(out.String(), "can't fork") {
			t.Errorf("no fork refused under pids.max 4: %q", out.String())
		}
	})
	t.Run("no cgroup left", func(t *testing.T) {
		entries, _ := os.ReadDir("/sys/fs/cgroup")
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "twinboot-") {
				t.Errorf("leaked cgroup /sys/fs/cgroup/%s", e.Name())
			}
		}
	})
}

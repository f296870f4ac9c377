package nested_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/twinboot/twinboot/internal/host"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/internal/testutil"
	"github.com/twinboot/twinboot/nested"
	"github.com/twinboot/twinboot/nested/nestedtest"
)

// TestL1ContainersAndPeers boots one L1 and checks what the experiment needs
// there besides /dev/kvm: overlayfs for writable containers, twinboot-init
// beside twinboot, and the peers (QEMU with KVM, runc, crun) reaching READY
// in the same bench run as ours.
func TestL1ContainersAndPeers(t *testing.T) {
	if host.InsideL1() {
		t.Skip("already inside L1")
	}
	g := testutil.Guest(t)
	opt := nestedtest.Options(t)
	opt.Peers = true
	s := nestedtest.Boot(t, opt)
	sh := func(script string) nestedtest.Result {
		t.Helper()
		return s.Exec(t, nested.Job{Path: "/bin/sh", Args: []string{"-c", script}})
	}

	res := sh("uname -r")
	if res.Code != 0 {
		t.Fatalf("uname: %d %s", res.Code, res.Stderr)
	}
	l1Release := strings.TrimSpace(res.Stdout)

	t.Run("writable container on overlay", func(t *testing.T) {
		res := s.Run(t, "ct", "run", "--", "/bin/sh", "-c", "echo written > /twinboot-written && cat /twinboot-written")
		if res.Code != 0 || !strings.Contains(res.Stdout, "written") {
			t.Fatalf("ct run with a writable root: exit %d\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
		}
		// The write went to the overlay's upper layer, not the shared rootfs.
		res = sh("test ! -e /build/guest/rootfs/twinboot-written && grep -qw overlay /proc/filesystems")
		if res.Code != 0 {
			t.Errorf("rootfs changed by the container, or no overlay in L1 (exit %d): %s", res.Code, res.Stderr)
		}
	})

	t.Run("twinboot-init is the container init", func(t *testing.T) {
		// Put something else where the runtime looks for its init: if the
		// runtime starts that file, the container fails with busybox's
		// complaint. Then put the real one back and see a container run.
		res := sh(`cp /bin/twinboot-init /tmp/init.real && cp /bin/busybox /bin/twinboot-init
/bin/twinboot ct run; rc=$?
cp /tmp/init.real /bin/twinboot-init
exit $rc`)
		if res.Code == 0 || !strings.Contains(res.Stderr, "applet not found") {
			t.Errorf("with busybox as /bin/twinboot-init the container still ran (exit %d): the runtime does not use it\nstderr: %s", res.Code, res.Stderr)
		}
		res = s.Run(t, "ct", "run")
		if res.Code != 0 || !strings.Contains(res.Stdout+res.Stderr, "READY") {
			t.Errorf("ct run with the real twinboot-init: exit %d\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
		}
	})

	t.Run("peers reach READY", func(t *testing.T) {
		res := s.Run(t, "bench", "--runs", "1", "--peers", "--format", "json")
		if res.Code != 0 {
			t.Fatalf("bench --peers in L1: exit %d\nstderr: %s", res.Code, res.Stderr)
		}
		var r compare.Results
		if err := json.Unmarshal([]byte(res.Stdout), &r); err != nil {
			t.Fatalf("bench output: %v\n%s", err, res.Stdout)
		}
		want := map[string]string{
			// QEMU boots the lab's own kernel; the runtimes share L1's.
			compare.PeerQEMU: g.KernelRelease,
			compare.PeerRunc: l1Release,
			compare.PeerCrun: l1Release,
		}
		for _, p := range r.Peers {
			if p.Skipped != "" {
				t.Errorf("peer %s skipped in L1: %s", p.Name, p.Skipped)
			}
		}
		seen := map[string]bool{}
		for _, run := range r.Runs {
			for _, side := range run.Peers {
				seen[side.Name] = true
				if side.Error != "" || side.Report == nil {
					t.Errorf("run %d, %s: no READY (%s)", run.Index, side.Name, side.Error)
					continue
				}
				if !side.Emulated {
					t.Errorf("run %d, %s: figures not labelled emulated", run.Index, side.Name)
				}
				if got := side.Report.KernelRelease; got != want[side.Name] {
					t.Errorf("run %d, %s: kernel release %q, want %q", run.Index, side.Name, got, want[side.Name])
				}
			}
		}
		for name := range want {
			if !seen[name] {
				t.Errorf("peer %s was not measured", name)
			}
		}
	})
}

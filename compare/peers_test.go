package compare

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/testutil"
)

func TestMissingPeersAreSkipped(t *testing.T) {
	old := lookPath
	lookPath = func(string) (string, error) { return "", exec.ErrNotFound }
	t.Cleanup(func() { lookPath = old })

	var logs []string
	runners, peers := findPeers(Options{}, Host{KVM: "svm", Cgroup: "v2"}, func(ev event.Event) {
		if l, ok := ev.(event.Log); ok {
			logs = append(logs, l.Msg)
		}
	})
	if len(runners) != 0 {
		t.Errorf("%d runners for peers that are not installed", len(runners))
	}
	if len(peers) != 3 {
		t.Fatalf("peers %+v, want qemu, runc and crun listed", peers)
	}
	for _, p := range peers {
		if p.Skipped == "" || !strings.Contains(p.Skipped, "not installed") {
			t.Errorf("%s: skipped %q, want a not-installed reason", p.Name, p.Skipped)
		}
		if p.Version != "" {
			t.Errorf("%s: a skipped peer has no version, got %q", p.Name, p.Version)
		}
	}
	if len(logs) != 3 {
		t.Errorf("want one log line per skipped peer, got %q", logs)
	}

	// Inside the lab machine, the reason says where.
	_, peers = findPeers(Options{Emulated: true}, Host{KVM: "svm"}, nil)
	if !strings.Contains(peers[0].Skipped, "nested-mode lab machine") {
		t.Errorf("inside L1: %q", peers[0].Skipped)
	}
}

func TestQEMUSkippedWithoutHardwareKVM(t *testing.T) {
	old := lookPath
	lookPath = func(string) (string, error) { return "/bin/true", nil }
	t.Cleanup(func() { lookPath = old })
	for kvm, want := range map[string]string{"kvm_pvm": "kvm_pvm", "none": "no /dev/kvm", "unknown": "unrecognised"} {
		run, _, skipped := qemuPeer(Options{}, Host{KVM: kvm})
		if run != nil || !strings.Contains(skipped, want) {
			t.Errorf("KVM %s: runner %v, skipped %q (want %q)", kvm, run != nil, skipped, want)
		}
	}
}

// A skipped peer appears in Results.Peers only: no side, no statistics, so
// no zero can be mistaken for a measurement.
func TestSkippedPeerHasNoFigures(t *testing.T) {
	rec := &recorder{}
	s := sides{vm: rec.scripted("vm", 100, nil), container: rec.scripted("container", 10, nil)}
	peers := []Peer{{Name: PeerQEMU, Skipped: "not installed"}}
	res, err := measure(context.Background(), "bench", Options{Runs: 2, Mode: "native"}, Host{}, s, peers, rec.sink)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Runs {
		if len(r.Peers) != 0 {
			t.Errorf("run %d has peer sides %+v", r.Index, r.Peers)
		}
	}
	for _, st := range res.Stats {
		if st.Side == PeerQEMU {
			t.Errorf("stat for a skipped peer: %+v", st)
		}
	}
	if len(res.Peers) != 1 || res.Peers[0].Skipped == "" {
		t.Errorf("peers %+v", res.Peers)
	}
}

// probeRootfs builds a root directory holding only the probe as /init: the
// smallest world in which runc and crun can show READY. Tests use the lab
// rootfs when it is built.
func probeRootfs(t *testing.T) string {
	t.Helper()
	if a, err := guest.Load(guest.BuildDir()); err == nil {
		return a.Rootfs
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "rootfs")
	for _, d := range []string{"proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(root, "init"), "github.com/twinboot/twinboot/guest/probe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		testutil.Missing(t, "cannot build the probe: %v\n%s", err, out)
	}
	return root
}

func TestOCIPeersReachReady(t *testing.T) {
	testutil.Root(t)
	rootfs := probeRootfs(t)
	host := HostFacts()
	opt := Options{Timeout: 30 * time.Second}
	opt.Guest.Rootfs = rootfs
	for _, name := range []string{PeerRunc, PeerCrun} {
		t.Run(name, func(t *testing.T) {
			run, version, skipped := ociPeer(name, opt, host)
			if skipped != "" {
				testutil.Missing(t, "%s", skipped)
			}
			if version == "" {
				t.Errorf("no version for %s", name)
			}
			side := run(context.Background(), 0, 100, nil)
			if side.Reason != "exited" {
				t.Errorf("%s: reason %q, want exited (on its own, after READY)", name, side.Reason)
			}
			if !side.OK() {
				t.Fatalf("%s: %+v", name, side)
			}
			r := side.Report
			if r.KernelRelease != host.KernelRelease || r.BootID != host.BootID || r.PID != 1 {
				t.Errorf("%s: the probe should see the host's kernel as PID 1: %+v", name, r)
			}
			if r.Syscalls == nil || r.Syscalls.Count != 100 {
				t.Errorf("%s: syscall burst %+v, want 100 calls", name, r.Syscalls)
			}
			if out, _ := exec.Command(name, "list").CombinedOutput(); strings.Contains(string(out), "twinboot-"+name) {
				t.Errorf("%s left a container behind:\n%s", name, out)
			}
			left, _ := filepath.Glob("/sys/fs/cgroup/*/twinboot-" + name + "-*")
			more, _ := filepath.Glob("/sys/fs/cgroup/twinboot-" + name + "-*")
			if left = append(left, more...); len(left) > 0 {
				t.Errorf("%s left cgroups behind: %v", name, left)
			}
		})
	}
}

func TestStartWithoutUnifiedHidesIt(t *testing.T) {
	testutil.Root(t)
	if _, err := os.Stat("/sys/fs/cgroup/unified"); err != nil {
		t.Skip("no /sys/fs/cgroup/unified on this host: nothing to hide")
	}
	cmd := exec.Command("cat", "/proc/self/mountinfo")
	out, err := os.CreateTemp(t.TempDir(), "mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = out
	release, err := startWithoutUnified(cmd, "/sys/fs/cgroup/unified")
	if err != nil {
		t.Fatal(err)
	}
	werr := cmd.Wait()
	release()
	if werr != nil {
		t.Fatal(werr)
	}
	b, _ := os.ReadFile(out.Name())
	if strings.Contains(string(b), " /sys/fs/cgroup/unified ") {
		t.Error("the child still sees /sys/fs/cgroup/unified")
	}
	self, _ := os.ReadFile("/proc/self/mountinfo")
	if !strings.Contains(string(self), " /sys/fs/cgroup/unified ") {
		t.Error("the unmount leaked into this process's mount namespace")
	}
}

// QEMU with KVM cannot run on a kvm_pvm host, but the same runner with TCG
// proves the rest: the command line boots the lab kernel and initramfs on
// QEMU's machine, and READY is caught on the serial port.
func TestQEMURunnerReachesReadyUnderTCG(t *testing.T) {
	path, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		testutil.Missing(t, "qemu-system-x86_64 (Debian package qemu-system-x86)")
	}
	a := testutil.Guest(t)
	opt := Options{Guest: a, Runs: 1, Timeout: 2 * time.Minute}.withDefaults()
	run := qemuRunner(path, opt, []string{"-accel", "tcg", "-cpu", "max"})
	side := run(context.Background(), 0, 100, nil)
	if !side.OK() {
		t.Fatalf("qemu: %+v", side)
	}
	if side.Report.KernelRelease != a.KernelRelease || side.Report.Syscalls == nil || side.Report.Syscalls.Count != 100 {
		t.Errorf("report %+v, want the lab kernel %s and a 100-call burst", side.Report, a.KernelRelease)
	}
	if len(side.Phases) != 2 || side.Phases[1].Name != PeerPhaseReady || int64(side.Phases[1].At) != side.ReadyNS {
		t.Errorf("phases %+v", side.Phases)
	}
}

func TestTopRootFSType(t *testing.T) {
	for _, tc := range []struct{ name, mountinfo, want string }{
		{"initramfs", "1 1 0:2 / / rw - rootfs rootfs rw,size=480000k\n2 1 0:20 / /proc rw,relatime - proc proc rw\n", "rootfs"},
		{"disk", "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n23 22 0:21 / /sys rw shared:7 - sysfs sysfs rw\n", "ext4"},
		// A mount over the initial ramfs (switch_root's MS_MOVE) is what
		// counts: pivot_root works from there.
		{"moved over", "1 1 0:2 / / rw - rootfs rootfs rw\n30 1 0:31 / / rw - tmpfs tmpfs rw\n", "tmpfs"},
		{"optional fields", "1 1 0:2 / / rw shared:1 master:2 - rootfs rootfs rw\n", "rootfs"},
		{"empty", "", ""},
	} {
		if got := topRootFSType([]byte(tc.mountinfo)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

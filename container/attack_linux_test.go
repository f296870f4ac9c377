package container

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cgroups "github.com/containerd/cgroups/v3"

	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/nested/nestedtest"
)

// An attack is what root inside a container tried, before the default
// protections existed, to take over the host or lift its own limits (each
// of these worked then). The shell command must fail; the test prints
// "ok NAME" when it does and "BREACH NAME" when it does not.
type attack struct {
	name, cmd string
	// seccompOnly: refused by the seccomp filter alone (the capabilities
	// would allow it), so only where the config has a filter.
	seccompOnly bool
}

var attacks = []attack{
	// A fresh procfs would show /proc/sys writable, with host-wide kernel
	// parameters such as core_pattern (the kernel runs that program as
	// root on the host when a process dumps core).
	{name: "mount a fresh procfs", cmd: "mkdir -p /dev/p && mount -t proc proc /dev/p"},
	// The same value written back: harmless if the wall is missing.
	{name: "write a host kernel parameter", cmd: `v=$(cat /proc/sys/kernel/core_pattern) && echo "$v" > /proc/sys/kernel/core_pattern`},
	{name: "unmount the read-only /proc/sys", cmd: "umount /proc/sys"},
	{name: "unmount the masked /sys/firmware", cmd: "umount /sys/firmware"},
	{name: "remount /sys read-write", cmd: "mount -o remount,rw /sys"},
	{name: "read a masked path", cmd: "test -s /proc/kcore || head -c 1 /proc/kcore | grep -q ."},
	{name: "create the kernel log device", cmd: "mknod /dev/kmsg c 1 11"},
	{name: "read the kernel log", cmd: "dmesg | head -1 | grep -q ."},
	{name: "mount the cgroup v1 memory hierarchy", cmd: "mkdir -p /dev/cg && mount -t cgroup -o memory cgroup /dev/cg"},
	{name: "mount the cgroup v2 hierarchy", cmd: "mkdir -p /dev/cg2 && mount -t cgroup2 none /dev/cg2"},
	{name: "write to its own cgroup", cmd: "echo $$ > /sys/fs/cgroup/cgroup.procs"},
	{name: "remount its cgroup read-write", cmd: "mount -o remount,rw /sys/fs/cgroup"},
	// Creating a user namespace needs no capability; the engines' profile
	// refuses it (it is where most container escapes of recent years
	// began).
	{name: "create a user namespace", cmd: "unshare -U true", seccompOnly: true},
}

// attackScript runs every attack and then prints the walls the process is
// behind, as the kernel reports them.
func attackScript(withSeccomp bool) string {
	var b strings.Builder
	for _, a := range attacks {
		if a.seccompOnly && !withSeccomp {
			continue
		}
		// The attacks' own messages go to stderr; stdout is the verdicts.
		b.WriteString("if ( " + a.cmd + " ) 2>/dev/null; then echo 'BREACH " + a.name + "'; else echo 'ok " + a.name + "'; fi\n")
	}
	b.WriteString("grep -E '^(CapEff|CapBnd|CapPrm|NoNewPrivs|Seccomp):' /proc/self/status\n")
	return b.String()
}

// TestAttacksRefused runs every attack inside real containers: without a
// bundle (what `ct run` does), with the bundle `ct spec` writes, and with
// the one `runc spec` writes, each as host root and with a user namespace.
// It runs here (cgroup v1 or hybrid) and, through TestAttacksRefusedV2, in
// L1 (pure cgroup v2). Each wall is checked on its own, so that removing
// any one fails the test even where another would also refuse the attack:
// the capability sets, no_new_privs and the seccomp mode are read from
// /proc/self/status, the read-only and masked paths and the cgroup mount are
// attacked with root's file permissions alone, and the device rules are
// attacked with CAP_MKNOD given back (TestDeviceRules).
func TestAttacksRefused(t *testing.T) {
	rootfs := labRootfs(t)
	runAttacks(t, rootfs)
}

// TestAttacksRefusedV2 is TestAttacksRefused on a pure cgroup v2 host: here
// in the nested-mode L1 machine, which mounts one, unless this host is one.
func TestAttacksRefusedV2(t *testing.T) {
	rootfs := labRootfs(t)
	if cgroups.Mode() != cgroups.Unified {
		if host.InsideL1() {
			t.Fatal("L1 does not have a pure cgroup v2 layout")
		}
		nestedtest.RunInL1(t)
		return
	}
	runAttacks(t, rootfs)
}

func runAttacks(t *testing.T, rootfs string) {
	ownBundle := writeBundle(t, rootfs, nil, nil)
	runcBundle := runcSpecBundle(t, rootfs)
	for _, src := range []struct {
		name    string
		spec    Spec
		seccomp bool // `runc spec` writes no seccomp profile: engines add one
	}{
		{"rootfs", Spec{Rootfs: rootfs}, true},
		{"ct spec bundle", Spec{Bundle: ownBundle}, true},
		{"runc spec bundle", Spec{Bundle: runcBundle}, false},
	} {
		for _, userns := range []bool{false, true} {
			name := src.name
			if userns {
				name += " userns"
			}
			t.Run(name, func(t *testing.T) {
				before := takeSnapshot(t)
				var out, errOut bytes.Buffer
				s := src.spec
				s.UserNS, s.Stdout, s.Stderr = userns, &out, &errOut
				if host.InsideL1() {
					// Emulated, on a machine others may share: the
					// script's dozen forks can take minutes.
					s.Timeout = 10 * time.Minute
				}
				s.Args = []string{"/bin/sh", "-c", attackScript(src.seccomp)}
				res := runOK(t, s)
				if res.ExitCode != 0 {
					t.Fatalf("exit %d (%s): %s%s", res.ExitCode, res.Reason, out.String(), errOut.String())
				}
				got := out.String()
				for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
					if strings.HasPrefix(line, "BREACH") {
						t.Errorf("not refused: %s", strings.TrimPrefix(line, "BREACH "))
					}
				}
				want := []string{"CapEff:\t0000000020000420", "CapBnd:\t0000000020000420", "CapPrm:\t0000000020000420", "NoNewPrivs:\t1"}
				if src.seccomp {
					want = append(want, "Seccomp:\t2")
				}
				for _, w := range want {
					if !strings.Contains(got, w) {
						t.Errorf("status lacks %q:\n%s", w, got)
					}
				}
				if n := strings.Count(got, "ok "); n == 0 {
					t.Errorf("no attack ran:\n%s", got)
				}
				assertNoLeak(t, before, takeSnapshot(t))
			})
		}
	}
}

// TestDeviceRules proves the device cgroup on its own: with CAP_MKNOD given
// back, root can create /dev/null's node (allowed) but not the kernel log's
// (1:11) or a disk's (block 8:0), and cannot open one either.
func TestDeviceRules(t *testing.T) {
	rootfs := labRootfs(t)
	var out bytes.Buffer
	script := `mknod /tmp/null c 1 3 && echo x > /tmp/null && echo null-ok
mknod /tmp/kmsg c 1 11 2>/dev/null && echo BREACH kmsg-created
mknod /tmp/sda b 8 0 2>/dev/null && echo BREACH disk-created
true`
	res := runOK(t, Spec{Rootfs: rootfs, CapAdd: []string{"MKNOD"}, Stdout: &out, Stderr: &out, Args: []string{"/bin/sh", "-c", script}})
	if res.ExitCode != 0 || !strings.Contains(out.String(), "null-ok") || strings.Contains(out.String(), "BREACH") {
		t.Errorf("exit %d, output:\n%s", res.ExitCode, out.String())
	}
}

// TestCapAdd: a capability given back is there, in every set, and the
// default seccomp profile follows it (CAP_SYS_ADMIN brings mount back).
func TestCapAdd(t *testing.T) {
	rootfs := labRootfs(t)
	var out bytes.Buffer
	res := runOK(t, Spec{Rootfs: rootfs, CapAdd: []string{"net_raw", "CAP_SYS_ADMIN"}, Stdout: &out, Stderr: &out,
		Args: []string{"/bin/sh", "-c", "grep -E '^Cap(Eff|Bnd)' /proc/self/status; mkdir -p /tmp/p && mount -t tmpfs t /tmp/p && echo mounted"}})
	// AUDIT_WRITE, KILL, NET_BIND_SERVICE + NET_RAW (13) + SYS_ADMIN (21).
	for _, w := range []string{"CapEff:\t0000000020202420", "CapBnd:\t0000000020202420", "mounted"} {
		if res.ExitCode != 0 || !strings.Contains(out.String(), w) {
			t.Errorf("exit %d, output lacks %q:\n%s", res.ExitCode, w, out.String())
		}
	}
	// A bundle's capabilities get the added one too.
	out.Reset()
	res = runOK(t, Spec{Bundle: writeBundle(t, rootfs, nil, nil), CapAdd: []string{"NET_RAW"}, Stdout: &out, Stderr: &out,
		Args: []string{"/bin/sh", "-c", "grep -E '^CapEff' /proc/self/status"}})
	if res.ExitCode != 0 || !strings.Contains(out.String(), "CapEff:\t0000000020002420") {
		t.Errorf("bundle with NET_RAW added: exit %d, output:\n%s", res.ExitCode, out.String())
	}
	if _, err := ParseCapabilities([]string{"CAP_FLY"}); err == nil || !strings.Contains(err.Error(), "CAP_FLY") {
		t.Errorf("unknown capability: error %v, want one naming it", err)
	}
}

//go:embed testdata/runc-spec.json
var runcSpecJSON []byte

// runcSpecBundle writes the config `runc spec` (Debian's runc 1.1.5) writes,
// kept in testdata so that the test also runs in L1, which has no runc;
// only its args, terminal and root path are changed.
func runcSpecBundle(t *testing.T, rootfs string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(runcSpecJSON, &m); err != nil {
		t.Fatal(err)
	}
	p := m["process"].(map[string]any)
	p["terminal"] = false
	p["args"] = []any{"/init"}
	m["root"].(map[string]any)["path"] = rootfs
	b, _ := json.Marshal(m)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

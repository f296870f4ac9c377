package container

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/container/internal/ctinit"
)

func TestParseConfigUnsupported(t *testing.T) {
	tests := []struct {
		name, json string
		want       error
		mentions   []string
	}{
		{"default spec", mustJSON(t, DefaultSpec("/r", nil)), nil, nil},
		{"old version", `{"ociVersion": "0.9.0", "root": {"path": "/"}}`, ErrBadConfig, []string{"0.9.0"}},
		{"namespace path", `{"ociVersion": "1.0.2", "root": {"path": "/"}, "linux": {"namespaces": [{"type": "network", "path": "/proc/1/ns/net"}]}}`,
			ErrUnsupported, []string{"linux.namespaces[0].path"}},
		{"time namespace", `{"ociVersion": "1.0.2", "root": {"path": "/"}, "linux": {"namespaces": [{"type": "time"}]}}`,
			ErrUnsupported, []string{`linux.namespaces[0].type "time"`}},
		{"cpu idle", `{"ociVersion": "1.0.2", "root": {"path": "/"}, "linux": {"resources": {"cpu": {"idle": 1}}}}`,
			ErrUnsupported, []string{"linux.resources.cpu.idle"}},
		{"unknown capability", `{"ociVersion": "1.0.2", "root": {"path": "/"}, "process": {"cwd": "/", "user": {"uid": 0, "gid": 0}, "capabilities": {"bounding": ["CAP_FLY"]}}}`,
			ErrUnsupported, []string{"CAP_FLY"}},
		{"overlay mount type", `{"ociVersion": "1.0.2", "root": {"path": "/"}, "mounts": [{"destination": "/x", "type": "nfs"}]}`,
			ErrUnsupported, []string{`mounts[0].type "nfs"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.json))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			for _, m := range tt.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

func TestInitConfigRoundTrip(t *testing.T) {
	adj := -500
	c := &ctinit.Config{
		Hostname: "h\tx", Rootfs: "/r", StateDir: "/s", Overlay: true, CgroupNS: true, CgroupVersion: "hybrid",
		Mounts:       []ctinit.MountOp{{Source: "proc", Dest: "/proc", Type: "proc", Flags: 6, Data: "a=b,c"}},
		CgroupMounts: []ctinit.MountOp{{Source: "cgroup", Dest: "/sys/fs/cgroup", Type: "cgroup", Flags: 1}},
		MaskedPaths:  []string{"/proc/kcore"}, ReadonlyPaths: []string{"/proc/sys"},
		Exe: "/init", Args: []string{"/init", "--mode", "a b\nc"}, Env: []string{"A=1"}, Cwd: "/",
		UID: 1000, GID: 1000, Groups: []uint32{5, 6}, Rlimits: []ctinit.RlimitOp{{Resource: 7, Soft: 1024, Hard: 4096}}, OOMScoreAdj: &adj,
		Caps:       &ctinit.CapsOp{Bounding: 1 << 21, Effective: 3, Permitted: 3, Inheritable: 1, Ambient: []uint{0}},
		NoNewPrivs: true, PopulateDev: true, UserNS: true,
		Sysctls: []ctinit.Sysctl{{Key: "net.ipv4.ping_group_range", Value: "0 2147483647"}},
		Seccomp: &ctinit.SeccompOp{Flags: 2, Program: []unix.SockFilter{{Code: 0x20, K: 4}, {Code: 0x15, Jt: 1, Jf: 255, K: 0xc000003e}, {Code: 0x06, K: 0x7fff0000}}},
	}
	got, err := ctinit.Decode(bufioReader(c.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	a, b := mustJSON(t, c), mustJSON(t, got)
	if a != b {
		t.Errorf("round trip changed the config:\n got %s\nwant %s", b, a)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

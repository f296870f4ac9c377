package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twinboot/twinboot/internal/testutil"
	"github.com/twinboot/twinboot/nested/nestedtest"
	"github.com/twinboot/twinboot/network"
)

// `ct run --net` as a student types it: the container's shell sees its
// hostname, eth0 with an address of the lab subnet and an /etc/hosts
// naming the lab host, and pings it by name; the network is gone
// afterwards.
func TestCtRunNet(t *testing.T) {
	testutil.Root(t)
	testutil.Guest(t)
	stdout, stderr, code := runTwinboot(t, nil, "ct", "run", "--net", "--hostname", "web", "--",
		"/bin/sh", "-c", "hostname; ip -4 -o addr show eth0; grep labhost /etc/hosts; ping -c 1 -W 5 labhost")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	m := strings.Fields(strings.TrimPrefix(stderr[strings.Index(stderr, "lab network "):], "lab network "))
	if len(m) < 2 {
		t.Fatalf("no 'lab network' line in stderr: %s", stderr)
	}
	name := m[0]
	for _, want := range []string{"web\n", "eth0", "inet 10.88.", "\tlabhost", "1 packets received"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(network.StateRoot, name)); !os.IsNotExist(err) {
		t.Errorf("network %s left behind (%v)", name, err)
	}
}

// Bad lab network flags are refused at once, with one line.
func TestNetFlagsBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ct", "run", "--subnet", "10.1.0.0/24"}, "--subnet needs --net"},
		{[]string{"ct", "run", "--net", "--subnet", "10.1.0.1/24"}, "host bits set"},
		{[]string{"ct", "run", "--net", "--subnet", "fd00::/64"}, "IPv4 only"},
		{[]string{"vm", "--net", "--subnet", "10.1.0.0/31"}, "want /8 to /29"},
		{[]string{"vm", "--net", "--tap", "tap0"}, "no --tap with it"},
		{[]string{"vm", "--hostname", "x"}, "--hostname needs --net"},
		{[]string{"run", "--net", "--subnet", "nonsense"}, "not an address/prefix"},
	} {
		_, stderr, code := runTwinboot(t, nil, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

// `twinboot ct run --net` killed with SIGKILL leaves its network behind;
// the next twinboot command, whatever it is, removes it and says so.
func TestNetCleanedAfterSIGKILL(t *testing.T) {
	testutil.Root(t)
	testutil.Guest(t)
	cmd := exec.Command(twinbootBinary(t), "ct", "run", "--net", "--", "/bin/sh", "-c", "echo up; sleep 60")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	buf := make([]byte, 256)
	if n, err := out.Read(buf); err != nil || !strings.Contains(string(buf[:n]), "up") {
		t.Fatalf("the container did not start: %q %v; %s", buf[:n], err, stderr.String())
	}
	name := "twinboot-" + itoa(cmd.Process.Pid) + "-0"
	dir := filepath.Join(network.StateRoot, name)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the running network %s is not recorded: %v", dir, err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	time.Sleep(100 * time.Millisecond) // the container's init dies with it (Pdeathsig)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("after SIGKILL %s is gone already: the test proves nothing", dir)
	}
	_, errOut, code := runTwinboot(t, nil, "version")
	if code != 0 || !strings.Contains(errOut, name) {
		t.Errorf("the next command: exit %d, stderr %q; want it to say it removed %s", code, errOut, name)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still there after the next command (%v)", dir, err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// The lab's networked shells, as a student uses them: a container shell on
// the lab network with the VM serving beside it (in L1 on hosts without
// hardware KVM) pings the VM by name and fetches its report with busybox
// wget.
func TestCtRunNetPeerPingsVM(t *testing.T) {
	testutil.Root(t)
	testutil.Guest(t)
	nestedtest.Options(t) // QEMU and a static twinboot for L1, or skip
	cmd := exec.Command(twinbootBinary(t), "ct", "run", "--mode", "nested", "--net", "--net-peer", "--hostname", "twinboot-ct", "--",
		"/bin/sh", "-c", "for i in $(seq 60); do wget -q -O- http://twinboot-vm:8080/ >/tmp/r && break; sleep 1; done; "+
			"ping -c 1 -W 10 twinboot-vm; cat /tmp/r")
	// A pipe, relayed into L1 and never written; an *os.File goes to the
	// child as it is (an io.Reader would make Wait wait for its copy).
	stdin, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	defer w.Close()
	cmd.Stdin = stdin
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, o.String(), e.String())
	}
	for _, want := range []string{"1 packets received", `"hostname":"twinboot-vm"`, `"mode":"serve"`, "10.88."} {
		if !strings.Contains(o.String(), want) {
			t.Errorf("output lacks %q:\n%s\nstderr:\n%s", want, o.String(), e.String())
		}
	}
}

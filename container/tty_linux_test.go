package container

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns the two ends of a new pseudo-terminal, closed at the end.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pts: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// A terminal passed as stdout reaches the workload as a terminal (the lab's
// interactive shell needs one), while a pipe would not.
func TestTerminalPassedThrough(t *testing.T) {
	rootfs := labRootfs(t)
	master, slave := openPTY(t)
	res := runOK(t, Spec{Rootfs: rootfs, Stdout: slave, Args: []string{"/bin/sh", "-c", "[ -t 1 ] && echo is-a-tty"}})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: stdout is not a terminal in the container", res.ExitCode)
	}
	master.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 256)
	n, _ := master.Read(buf)
	if !strings.Contains(string(buf[:n]), "is-a-tty") {
		t.Errorf("terminal output %q", buf[:n])
	}
	// The result says why there is no report: the output was not read.
	if !res.OnTerminal || res.Report != nil {
		t.Errorf("on a terminal: OnTerminal %v, report %v; want true and none", res.OnTerminal, res.Report)
	}
	if res := runOK(t, Spec{Rootfs: rootfs, Args: []string{"/bin/true"}}); res.OnTerminal {
		t.Error("OnTerminal set for a run whose output twinboot read")
	}
}

package network

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/twinboot/twinboot/internal/testutil"
)

func needRoot(t *testing.T) { testutil.Root(t) }

// newLab builds a lab network that the test closes, also on failure.
func newLab(t *testing.T, c Config) *Lab {
	t.Helper()
	l, err := New(c)
	if err != nil {
		t.Fatalf("New(%+v): %v", c, err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

// sleeper is a process in a network namespace of its own, as a container's
// init is: `sleep` started with CLONE_NEWNET. The test kills it at the end.
func sleeper(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "120")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sleep in a new netns: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd.Process.Pid
}

func netnsOf(pid int) string { return "/proc/" + strconv.Itoa(pid) + "/ns/net" }

// listenIn opens a TCP listener inside the namespace at path, on ip, that
// answers every connection with reply; it stays in that namespace.
func listenIn(t *testing.T, path string, ip net.IP, reply string) string {
	t.Helper()
	var ln net.Listener
	err := ns.WithNetNSPath(path, func(ns.NetNS) error {
		var err error
		ln, err = net.Listen("tcp4", net.JoinHostPort(ip.String(), "0"))
		return err
	})
	if err != nil {
		t.Fatalf("listen in %s on %s: %v", path, ip, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(reply))
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// dialFrom connects from inside the namespace at path to addr and returns
// what the far side said.
func dialFrom(path, addr string) (string, error) {
	var got string
	err := ns.WithNetNSPath(path, func(ns.NetNS) error {
		c, err := net.DialTimeout("tcp4", addr, 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 64)
		n, err := c.Read(b)
		got = string(b[:n])
		if n > 0 {
			return nil
		}
		return err
	})
	return got, err
}

// readInRoot reads a file of a container's root, as the container sees it.
func readInRoot(pid int, rel string) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/root/" + rel)
	return string(b), err
}

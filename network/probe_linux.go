package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/guest/netprobe"
	"github.com/twinboot/twinboot/guest/report"
)

// Dial connects from the lab host (inside the lab namespace) to addr. The
// socket is made in the lab namespace and stays there.
func (l *Lab) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := l.Do(func() error {
		var err error
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Probe is a client, on the lab host, of the serving probe at ip
// (report.ServePort).
func (l *Lab) Probe(ip net.IP) *netprobe.Client {
	return &netprobe.Client{Addr: net.JoinHostPort(ip.String(), strconv.Itoa(report.ServePort)), Dial: l.Dial}
}

// ContainerAttach is what a container.Spec's Attach runs for e: the veth
// (AttachContainer), then the lab's /etc/hosts written into the
// container's root. The file is opened with RESOLVE_IN_ROOT, so that a
// symbolic link in the container's root can never point the write at the
// host's files.
func (l *Lab) ContainerAttach(e *Endpoint) func(pid int) error {
	return func(pid int) error {
		if err := l.AttachContainer(e, pid); err != nil {
			return err
		}
		return writeInRoot(pid, "etc/hosts", []byte(l.HostsFile()))
	}
}

func writeInRoot(pid int, rel string, data []byte) error {
	rootPath := "/proc/" + strconv.Itoa(pid) + "/root"
	root, err := unix.Open(rootPath, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open container root: %w", err)
	}
	defer unix.Close(root)
	fd, err := unix.Openat2(root, rel, &unix.OpenHow{
		Flags:   unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC | unix.O_CLOEXEC,
		Mode:    0o644,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.EROFS) {
		return fmt.Errorf("write /%s into the container: its root is read-only (the lab network needs a writable root: no --read-only)", rel)
	}
	if err != nil {
		return fmt.Errorf("write /%s into the container: %w", rel, err)
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write /%s into the container: %w", rel, err)
	}
	return nil
}

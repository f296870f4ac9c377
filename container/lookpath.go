package container

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/twinboot/twinboot/container/internal/ctinit"
)

// lookPath finds the program a container will execute, the way the kernel and
// a shell would see it from inside: a name without a slash is searched in the
// config's PATH, and symbolic links are followed relative to the rootfs, not
// the host (an absolute link /bin/sh -> /bin/busybox means the rootfs's
// busybox). Doing it before anything is created turns "not found" into a clear
// error instead of a container that dies at exec.
func lookPath(rootfs, name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		p := path.Clean(path.Join("/", name))
		if err := isExecutable(rootfs, p); err != nil {
			return "", fmt.Errorf("%w: %s in %s: %v", ErrBinaryNotFound, name, rootfs, err)
		}
		return p, nil
	}
	dirs := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			dirs = v
		}
	}
	for _, d := range filepath.SplitList(dirs) {
		if d == "" || !path.IsAbs(d) {
			continue
		}
		p := path.Join(d, name)
		if isExecutable(rootfs, p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %s not in PATH %s of %s", ErrBinaryNotFound, name, dirs, rootfs)
}

func isExecutable(rootfs, p string) error {
	host, err := ctinit.ResolveInRoot(rootfs, p)
	if err != nil {
		return err
	}
	st, err := os.Stat(host)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", p)
	}
	if st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not executable", p)
	}
	return nil
}

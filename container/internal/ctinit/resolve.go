package ctinit

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ResolveInRoot returns the host path of the container path p, following
// symbolic links as if rootfs were /. It never leaves rootfs: ".." at the top
// stays at the top, as it does after pivot_root.
func ResolveInRoot(rootfs, p string) (string, error) {
	parts := strings.Split(strings.TrimPrefix(path.Clean("/"+p), "/"), "/")
	cur := "/"
	for links := 0; len(parts) > 0; {
		part := parts[0]
		parts = parts[1:]
		if part == "" || part == "." {
			continue
		}
		next := path.Join(cur, part) // Join cleans "..": it cannot climb above "/"
		fi, err := os.Lstat(filepath.Join(rootfs, next))
		if err != nil {
			return "", err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > 40 {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		target, err := os.Readlink(filepath.Join(rootfs, next))
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			cur = "/"
		}
		parts = append(strings.Split(target, "/"), parts...)
	}
	return filepath.Join(rootfs, cur), nil
}

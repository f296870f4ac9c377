package container

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"sync"

	cgroups "github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
)

// nestedPath places the container's v1 cgroup under the caller's own cgroup
// in each hierarchy, like cgroup1.NestedPath. That function re-reads
// /proc/self/mountinfo once per hierarchy on every call, which cost close to
// a millisecond per container here; the mount roots it looks for do not
// change while the process runs, so they are read once.
func nestedPath(name string) cgroup1.Path {
	own, _, err := cgroups.ParseCgroupFileUnified("/proc/self/cgroup")
	if err != nil {
		return func(cgroup1.Name) (string, error) { return "", err }
	}
	roots := v1MountRoots()
	return func(sub cgroup1.Name) (string, error) {
		p, ok := own[string(sub)]
		if !ok {
			if p, ok = own["name="+string(sub)]; !ok {
				return "", cgroup1.ErrControllerNotActive
			}
		}
		// Inside a cgroup namespace, or with a hierarchy mounted from a
		// sub-tree, /proc/self/cgroup is relative to the mount's root.
		if root, ok := roots[string(sub)]; ok && root != "/" {
			if rel, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(rel, "..") {
				p = "/" + rel
			}
		}
		return filepath.Join(p, name), nil
	}
}

var (
	mountRootsOnce sync.Once
	mountRoots     map[string]string
)

// v1MountRoots maps each v1 controller to the root field of its mount in
// /proc/self/mountinfo.
func v1MountRoots() map[string]string {
	mountRootsOnce.Do(func() {
		mountRoots = map[string]string{}
		f, err := os.Open("/proc/self/mountinfo")
		if err != nil {
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[len(fields)-3] != "cgroup" {
				continue
			}
			for _, opt := range strings.Split(fields[len(fields)-1], ",") {
				mountRoots[opt] = fields[3]
			}
		}
	})
	return mountRoots
}

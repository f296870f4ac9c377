package host

import (
	"fmt"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// Cgroup layouts.
const (
	CgroupV1     = "v1"
	CgroupV2     = "v2"
	CgroupHybrid = "hybrid" // v1 controllers plus a v2 hierarchy at unified/ (systemd's hybrid layout)
	CgroupNone   = "none"
)

// CgroupInfo is this machine's cgroup layout.
type CgroupInfo struct {
	Version string `json:"version"` // v1, v2, hybrid or none
	Detail  string `json:"detail"`
}

// Cgroup is InspectCgroup("/sys/fs/cgroup"), computed once per process.
var Cgroup = sync.OnceValue(func() CgroupInfo { return InspectCgroup("/sys/fs/cgroup") })

// InspectCgroup tells the layouts apart by file system type, not by
// directory names: cgroup2 at the top is v2; a tmpfs of v1 hierarchies is
// v1, or hybrid when a cgroup2 is mounted at unified/ beside them.
func InspectCgroup(root string) CgroupInfo {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return CgroupInfo{Version: CgroupNone, Detail: fmt.Sprintf("%s: %v", root, err)}
	}
	switch st.Type {
	case unix.CGROUP2_SUPER_MAGIC:
		return CgroupInfo{Version: CgroupV2, Detail: root + " is cgroup2 (unified)"}
	case unix.TMPFS_MAGIC:
		var u unix.Statfs_t
		if unix.Statfs(filepath.Join(root, "unified"), &u) == nil && u.Type == unix.CGROUP2_SUPER_MAGIC {
			return CgroupInfo{Version: CgroupHybrid, Detail: root + " holds v1 hierarchies and a cgroup2 at unified/ (controllers split between them)"}
		}
		return CgroupInfo{Version: CgroupV1, Detail: root + " holds v1 hierarchies only"}
	case unix.CGROUP_SUPER_MAGIC:
		return CgroupInfo{Version: CgroupV1, Detail: root + " is a single v1 hierarchy"}
	}
	return CgroupInfo{Version: CgroupNone, Detail: fmt.Sprintf("%s is not a cgroup file system (type %#x)", root, st.Type)}
}

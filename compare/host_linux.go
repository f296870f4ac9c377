package compare

import (
	"path/filepath"

	"golang.org/x/sys/unix"
)

// cgroupLayout tells "v2" (one unified hierarchy mounted at root), "hybrid"
// (v1 controllers plus a v2 hierarchy under unified/, as on this lab's
// machines) or "v1". The filesystem magic decides, not the directory names.
func cgroupLayout(root string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return ""
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "v2"
	}
	if err := unix.Statfs(filepath.Join(root, "unified"), &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "hybrid"
	}
	return "v1"
}

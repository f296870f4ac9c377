package container

import (
	"path/filepath"

	"github.com/twinboot/twinboot/internal/event"
)

// Cgroup is emitted once a run's cgroup exists, before the init joins it: it
// names the directory whose files account for the container's memory, so
// that a caller can watch a container that keeps running (twinboot density
// reads it during its idle window). The directory is gone after Run returns.
type Cgroup struct {
	ID      string `json:"id"`
	Version string `json:"version"`    // "v1", "v2" or "hybrid", as Result.CgroupVersion
	Memory  string `json:"memory_dir"` // the memory controller's directory
}

func (Cgroup) Kind() string { return "container-cgroup" }

func init() {
	event.Register(Cgroup{}.Kind(), func() event.Event { return &Cgroup{} })
}

// Value lets event.Decode hand back a value, not a pointer.
func (c *Cgroup) Value() event.Event { return *c }

// MemoryCurrent is the memory charged to the cgroup now, page cache
// included: v1 memory.usage_in_bytes, v2 memory.current.
func (c Cgroup) MemoryCurrent() (uint64, error) {
	name := "memory.usage_in_bytes"
	if c.Version == "v2" {
		name = "memory.current"
	}
	return readUintFile(filepath.Join(c.Memory, name))
}

// Pids lists the processes in the cgroup now.
func (c Cgroup) Pids() []int { return readPids(filepath.Join(c.Memory, "cgroup.procs")) }

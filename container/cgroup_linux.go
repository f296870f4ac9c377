package container

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	cgroups "github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/container/internal/ctinit"
)

const cgroupRoot = "/sys/fs/cgroup"

// unifiedRoot is where a hybrid host mounts its cgroup v2 hierarchy.
const unifiedRoot = "/sys/fs/cgroup/unified"

// cgroup is the container's control group on whichever layout the host has.
// containerd/cgroups does the creating and limiting; this type adds the few
// things a one-shot runtime needs on top: where the files are (for peak and
// OOM figures, and for the leak record), and a kill-everything-then-remove.
type cgroup struct {
	version string   // "v1", "v2" or "hybrid"
	dirs    []string // absolute directories, one per v1 hierarchy, or the v2 one
	v1      cgroup1.Cgroup
	v2      *cgroup2.Manager
	// unified is, on a hybrid host, the container's cgroup in the v2
	// hierarchy beside the v1 ones: it carries the device rules (see
	// newCgroup1) and the container is born in it.
	unified string
	memDir  string // directory holding the memory controller's files
	pidsMax int64  // applied by limitPids, after the init has joined
}

// hostCgroupV1 reports whether the controllers are on v1 hierarchies (a v1
// or hybrid host).
func hostCgroupV1() bool {
	v := cgroupVersion()
	return v == "v1" || v == "hybrid"
}

// cgroupVersion names the host's layout as Result.CgroupVersion does.
func cgroupVersion() string {
	switch cgroups.Mode() {
	case cgroups.Unified:
		return "v2"
	case cgroups.Hybrid:
		return "hybrid"
	case cgroups.Legacy:
		return "v1"
	}
	return "none"
}

// newCgroup makes the cgroup "twinboot-<id>" under the caller's own cgroup
// in every hierarchy it needs. Creating it under the root instead would
// escape limits the caller is under (here: the sandbox's memory cgroup
// /process_api/<id>) and would need permissions a delegated subtree lacks.
//
// record is called with the directories before any is created (see state).
func newCgroup(id string, res *specs.LinuxResources, record func([]string) error) (*cgroup, error) {
	return newCgroupAt("twinboot-"+id, res, record)
}

// newCgroupAt is newCgroup at a given place: a relative name is under the
// caller's own cgroup, an absolute one under the hierarchies' roots (an OCI
// linux.cgroupsPath).
func newCgroupAt(name string, res *specs.LinuxResources, record func([]string) error) (*cgroup, error) {
	if res == nil {
		res = &specs.LinuxResources{}
	}
	// The pids limit waits until the init has joined (see limitPids).
	var pidsMax int64
	if res.Pids != nil && res.Pids.Limit != nil && *res.Pids.Limit > 0 {
		pidsMax = *res.Pids.Limit
		r := *res
		r.Pids = &specs.LinuxPids{Limit: new(int64(-1))}
		res = &r
	}
	if len(res.Devices) > 0 {
		res = withDefaultDevices(res)
	}
	var c *cgroup
	var err error
	switch v := cgroupVersion(); v {
	case "v2":
		c, err = newCgroup2(name, res, record)
	case "v1", "hybrid":
		c, err = newCgroup1(v, name, res, record)
	default:
		return nil, errors.New("no cgroup file system is mounted at " + cgroupRoot)
	}
	if err != nil {
		return nil, err
	}
	c.pidsMax = pidsMax
	return c, nil
}

// limitPids applies the pids limit, once the init is in the cgroup and
// before it executes the workload. Not earlier: the init is a Go program,
// whose runtime starts threads of its own, and every thread counts against
// pids.max; a limit of a few pids would kill the init (pthread_create
// fails), not the workload it is meant for. At execve the init's extra
// threads vanish and the workload starts under the limit.
func (c *cgroup) limitPids() error {
	if c.pidsMax <= 0 {
		return nil
	}
	dir := c.dirs[0]
	if c.v2 == nil {
		dir = ""
		for _, d := range c.dirs {
			if strings.HasPrefix(d, filepath.Join(cgroupRoot, "pids")+"/") {
				dir = d
			}
		}
		if dir == "" {
			return errors.New("set pids limit: no pids hierarchy")
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "pids.max"), []byte(strconv.FormatInt(c.pidsMax, 10)), 0); err != nil {
		return fmt.Errorf("set pids limit: %w", err)
	}
	return nil
}

func newCgroup1(version, name string, res *specs.LinuxResources, record func([]string) error) (*cgroup, error) {
	// Only the hierarchies that carry a limit or a figure we read are
	// joined: on v1 every cgroup.procs write is a separate migration, and
	// each one costs time at start.
	subs := []cgroup1.Subsystem{cgroup1.NewMemory(cgroupRoot), cgroup1.NewPids(cgroupRoot)}
	if res.CPU != nil {
		subs = append(subs, cgroup1.NewCpu(cgroupRoot))
		if res.CPU.Cpus != "" || res.CPU.Mems != "" {
			subs = append(subs, cgroup1.NewCpuset(cgroupRoot))
		}
	}
	// Device rules: on a hybrid host, as a BPF program on a cgroup of the
	// unified (v2) hierarchy, which the kernel checks besides the v1
	// devices controller, and which clone3 can put the init into at birth
	// (CLONE_INTO_CGROUP). Joining the v1 devices hierarchy instead cost
	// one more cgroup.procs migration, about 2.5 ms of every start when
	// measured here. A v1-only host has no other way.
	unifiedDevices := len(res.Devices) > 0 && version == "hybrid"
	if len(res.Devices) > 0 && !unifiedDevices {
		subs = append(subs, cgroup1.NewDevices(cgroupRoot))
	}
	if m := res.Memory; m != nil && m.Limit != nil && m.Swap == nil {
		if _, err := os.Stat(filepath.Join(cgroupRoot, "memory", "memory.memsw.limit_in_bytes")); err == nil {
			// With swap accounting, the limit would otherwise only cap RAM
			// and the workload could spill into swap instead of being killed.
			mc := *m
			mc.Swap = m.Limit
			r := *res
			r.Memory = &mc
			res = &r
		}
	}
	path := nestedPath(name)
	if filepath.IsAbs(name) {
		path = cgroup1.StaticPath(name)
	}
	dirs := v1Dirs(path, subs)
	var unifiedGroup string
	if unifiedDevices {
		group, err := nestedGroup2(name)
		if err != nil {
			return nil, fmt.Errorf("find own cgroup in %s: %w", unifiedRoot, err)
		}
		unifiedGroup = group
		dirs = append(dirs, filepath.Join(unifiedRoot, group))
	}
	if err := record(dirs); err != nil {
		return nil, err
	}
	v1res := res
	if unifiedDevices {
		r := *res
		r.Devices = nil
		v1res = &r
	}
	cg, err := cgroup1.New(path, v1res, cgroup1.WithHierarchy(func() ([]cgroup1.Subsystem, error) { return subs, nil }))
	if err != nil {
		// New may have created some hierarchies before failing.
		removeCgroupDirs(dirs)
		return nil, fmt.Errorf("create cgroup %s: %w", name, err)
	}
	c := &cgroup{version: version, v1: cg, dirs: dirs}
	if unifiedDevices {
		if _, err := cgroup2.NewManager(unifiedRoot, unifiedGroup, &cgroup2.Resources{Devices: res.Devices}); err != nil {
			removeCgroupDirs(dirs)
			return nil, fmt.Errorf("cgroup %s device rules (BPF, unified hierarchy): %w", unifiedGroup, err)
		}
		c.unified = filepath.Join(unifiedRoot, unifiedGroup)
	}
	if p, err := path(cgroup1.Memory); err == nil {
		c.memDir = filepath.Join(cgroupRoot, "memory", p)
	}
	return c, nil
}

func v1Dirs(path cgroup1.Path, subs []cgroup1.Subsystem) []string {
	var dirs []string
	for _, s := range subs {
		if p, err := path(s.Name()); err == nil {
			dirs = append(dirs, filepath.Join(cgroupRoot, string(s.Name()), p))
		}
	}
	return dirs
}

// nestedGroup2 is cgroup2.NestedGroupPath for a relative name, the name
// itself for an absolute one.
func nestedGroup2(name string) (string, error) {
	if filepath.IsAbs(name) {
		return filepath.Clean(name), nil
	}
	return cgroup2.NestedGroupPath(name)
}

func newCgroup2(name string, res *specs.LinuxResources, record func([]string) error) (*cgroup, error) {
	group, err := nestedGroup2(name)
	if err != nil {
		return nil, fmt.Errorf("find own cgroup: %w", err)
	}
	dir := filepath.Join(cgroupRoot, group)
	if err := record([]string{dir}); err != nil {
		return nil, err
	}
	r := cgroup2.ToResources(res)
	// The device rules become a BPF program attached to the cgroup
	// (cgroup v2 has no devices.allow file); ToResources leaves them out.
	r.Devices = res.Devices
	// The memory and pids controllers are enabled even without a limit:
	// only then does the cgroup have memory.peak and pids.current to read.
	// (On v1 every hierarchy is always there.)
	if r.Memory == nil {
		r.Memory = &cgroup2.Memory{}
	}
	if r.Pids == nil {
		r.Pids = &cgroup2.Pids{}
	}
	m, err := cgroup2.NewManager(cgroupRoot, group, r)
	if err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w (on cgroup v2 the parent cgroup must be able to delegate the memory and pids controllers)", group, err)
	}
	return &cgroup{version: "v2", v2: m, dirs: []string{dir}, memDir: dir}, nil
}

// withDefaultDevices adds, after the config's device rules, the devices every
// container gets in its /dev (null, zero, full, random, urandom, tty), the
// pty devices and /dev/ptmx. A runc-spec config denies all devices and relies
// on the runtime for these, as runc does. Anything else can be neither
// opened nor created (mknod), whatever the container's capabilities.
func withDefaultDevices(res *specs.LinuxResources) *specs.LinuxResources {
	r := *res
	r.Devices = make([]specs.LinuxDeviceCgroup, 0, len(res.Devices)+len(ctinit.DefaultDevices)+2)
	for _, d := range res.Devices {
		// Unset means "all" (runtime-spec); the v2 device program
		// needs it spelt out.
		if d.Type == "" {
			d.Type = "a"
		}
		if d.Major == nil {
			d.Major = new(int64(-1))
		}
		if d.Minor == nil {
			d.Minor = new(int64(-1))
		}
		r.Devices = append(r.Devices, d)
	}
	for _, d := range ctinit.DefaultDevices {
		maj, min := d.Major, d.Minor
		r.Devices = append(r.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: &maj, Minor: &min, Access: "rwm"})
	}
	ptsMajor, any := int64(136), int64(-1)
	r.Devices = append(r.Devices,
		specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: &ptsMajor, Minor: &any, Access: "rwm"},
		specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: new(int64(5)), Minor: new(int64(2)), Access: "rwm"})
	return &r
}

// add moves pid into the cgroup (every hierarchy on v1).
func (c *cgroup) add(pid int) error {
	var err error
	if c.v2 != nil {
		err = c.v2.AddProc(uint64(pid))
	} else {
		err = c.v1.AddProc(uint64(pid))
	}
	if err != nil {
		return fmt.Errorf("join cgroup: %w", err)
	}
	return nil
}

// openDir returns an O_PATH descriptor of the v2 cgroup, for clone3's
// CLONE_INTO_CGROUP: the child is born inside it, with no migration at all.
// v1 has no such thing.
func (c *cgroup) openDir() (int, bool) {
	dir := c.unified
	if c.v2 != nil {
		dir = c.dirs[0]
	}
	if dir == "" {
		return -1, false
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, false
	}
	return fd, true
}

// peak returns the cgroup's memory high-water mark in bytes.
func (c *cgroup) peak() (uint64, error) {
	name := "memory.max_usage_in_bytes"
	if c.v2 != nil {
		name = "memory.peak"
	}
	return readUintFile(filepath.Join(c.memDir, name))
}

// oomKills returns how many processes the kernel's OOM killer killed in the
// cgroup: the "oom_kill" line of v1 memory.oom_control or v2 memory.events.
func (c *cgroup) oomKills() (uint64, error) {
	name := "memory.oom_control"
	if c.v2 != nil {
		name = "memory.events"
	}
	f, err := os.Open(filepath.Join(c.memDir, name))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "oom_kill "); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("%s has no oom_kill line", name)
}

// pids lists the processes in the cgroup.
func (c *cgroup) pids() []int {
	seen := map[int]bool{}
	var out []int
	for _, d := range c.dirs {
		for _, pid := range readPids(filepath.Join(d, "cgroup.procs")) {
			if !seen[pid] {
				seen[pid] = true
				out = append(out, pid)
			}
		}
	}
	return out
}

// remove kills whatever is left in the cgroup and deletes its directories.
func (c *cgroup) remove() error {
	return removeCgroupDirs(c.dirs)
}

func readUintFile(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

func readPids(procs string) []int {
	b, err := os.ReadFile(procs)
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids
}

package container

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/twinboot/twinboot/container/internal/ctinit"
	"github.com/twinboot/twinboot/guest/report"
)

// DefaultArgs runs the lab's probe once and exits: what `twinboot ct run`
// starts when no command is given.
var DefaultArgs = report.Args(report.ModeExit, -1)

// DefaultHostname is the container's hostname unless the config says otherwise.
const DefaultHostname = "twinboot"

// config is a validated run: an OCI spec with Spec's overrides applied, plus
// the facts the runtime worked out while checking it.
type config struct {
	OCI     *specs.Spec
	Rootfs  string            // absolute path of the root directory on the host
	Exe     string            // args[0] resolved inside the rootfs (absolute, container view)
	Seccomp *ctinit.SeccompOp // linux.seccomp compiled, or nil
}

// DefaultSpec returns the OCI spec that `twinboot ct spec` writes and that a
// run without a bundle uses: what `runc spec` writes (namespaces, mounts,
// capabilities, rlimits, no_new_privs, the deny-all device rule, masked and
// read-only paths), plus the cgroup namespace, the engines' default seccomp
// profile and ping for every group (security.go says why each is there), and
// minus the terminal, so that runc, crun and twinboot run the same thing.
//
// The root is read-only: runc then never writes into a rootfs that twinboot
// runs share. (twinboot itself gives a read-only root no overlay; a writable
// one gets an overlay so the lower directory is still never touched.)
func DefaultSpec(rootfs string, args []string) *specs.Spec {
	if len(args) == 0 {
		args = DefaultArgs
	}
	caps := defaultCapabilities()
	mounts := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
	}
	if cgroupVersion() != "v1" {
		// The container's own cgroup (its cgroup namespace is rooted
		// there), read-only: it can read its limits, not raise them. A
		// v1-only host has no single tree to show.
		mounts = append(mounts, specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup",
			Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}})
	}
	sysctl := map[string]string{}
	for k, v := range defaultSysctls {
		sysctl[k] = v
	}
	return &specs.Spec{
		// The oldest version with every field used here, so that older
		// runtimes (crun 1.8 refuses "1.3.0") accept the bundle too.
		Version: "1.0.2",
		Process: &specs.Process{
			Args:            append([]string(nil), args...),
			Env:             []string{"PATH=/bin:/sbin:/usr/bin:/usr/sbin", "HOME=/"},
			Cwd:             "/",
			Capabilities:    caps,
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Root:     &specs.Root{Path: rootfs, Readonly: true},
		Hostname: DefaultHostname,
		Mounts:   mounts,
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace}, {Type: specs.CgroupNamespace},
			},
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			Sysctl:  sysctl,
			Seccomp: defaultSeccomp(caps.Bounding),
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
			},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
}

// LoadBundle reads and checks bundle/config.json. The root path it returns is
// absolute (a relative root.path is relative to the bundle, as in runc).
func LoadBundle(bundle string) (*specs.Spec, error) {
	st, err := os.Stat(bundle)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNoBundle, bundle, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrNoBundle, bundle)
	}
	path := filepath.Join(bundle, "config.json")
	if st, err := os.Stat(path); err == nil && st.Size() > maxConfigBytes {
		return nil, fmt.Errorf("%w: %s is %d bytes, over the %d MiB a config may have", ErrBadConfig, path, st.Size(), maxConfigBytes>>20)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s has no config.json", ErrNoBundle, bundle)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	s, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.Root != nil && s.Root.Path != "" && !filepath.IsAbs(s.Root.Path) {
		abs, err := filepath.Abs(filepath.Join(bundle, s.Root.Path))
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", bundle, err)
		}
		s.Root.Path = abs
	}
	return s, nil
}

// ParseConfig decodes a config.json and rejects, in one error, every field
// this runtime does not implement.
func ParseConfig(b []byte) (*specs.Spec, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	// A key specs-go does not know is as unsupported as a known one we do
	// not implement; the decoder reports it instead of dropping it.
	dec.DisallowUnknownFields()
	var s specs.Spec
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadConfig, err)
	}
	if !strings.HasPrefix(s.Version, "1.") {
		return nil, fmt.Errorf("%w: ociVersion %q: only 1.x is understood", ErrBadConfig, s.Version)
	}
	if bad := unsupportedFields(&s); len(bad) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, strings.Join(bad, ", "))
	}
	return &s, nil
}

// resolve turns a Spec into a checked config: bundle or default spec, then
// the caller's overrides, then the checks that need the file system.
func resolve(s Spec) (*config, error) {
	var oci *specs.Spec
	switch {
	case s.Bundle != "" && s.Rootfs != "":
		return nil, fmt.Errorf("%w: give a bundle or a rootfs, not both", ErrBadConfig)
	case s.Bundle != "":
		var err error
		if oci, err = LoadBundle(s.Bundle); err != nil {
			return nil, err
		}
	default:
		if s.Rootfs == "" {
			return nil, fmt.Errorf("%w: no bundle and no rootfs given", ErrNoRootfs)
		}
		abs, err := filepath.Abs(s.Rootfs)
		if err != nil {
			return nil, fmt.Errorf("rootfs %s: %w", s.Rootfs, err)
		}
		if oci, err = NewSpec(abs, s.Args, s.CapAdd); err != nil {
			return nil, err
		}
		// A run without a bundle gets a writable root, as an overlay,
		// unless asked for a read-only one.
		oci.Root.Readonly = s.ReadOnlyRoot
	}
	if err := override(oci, s); err != nil {
		return nil, err
	}
	allowDevices(oci.Linux)
	if err := checkSysctls(oci.Linux); err != nil {
		return nil, err
	}
	var filter *ctinit.SeccompOp
	if oci.Linux.Seccomp != nil {
		var err error
		if filter, err = compileSeccomp(oci.Linux.Seccomp); err != nil {
			return nil, err
		}
	}
	if oci.Root == nil || oci.Root.Path == "" {
		return nil, fmt.Errorf("%w: root.path is empty", ErrNoRootfs)
	}
	if st, err := os.Stat(oci.Root.Path); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: %s", ErrNoRootfs, oci.Root.Path)
	}
	if oci.Process == nil || len(oci.Process.Args) == 0 || oci.Process.Args[0] == "" {
		return nil, ErrNoArgs
	}
	exe, err := lookPath(oci.Root.Path, oci.Process.Args[0], oci.Process.Env)
	if err != nil {
		return nil, err
	}
	return &config{OCI: oci, Rootfs: oci.Root.Path, Exe: exe, Seccomp: filter}, nil
}

// override applies Spec's fields on top of the OCI spec. Limits given in Spec
// win over the bundle's.
func override(oci *specs.Spec, s Spec) error {
	if oci.Process == nil {
		oci.Process = &specs.Process{Cwd: "/"}
	}
	p := oci.Process
	if len(s.Args) > 0 {
		p.Args = append([]string(nil), s.Args...)
	}
	p.Env = append(p.Env, s.Env...)
	if s.Cwd != "" {
		p.Cwd = s.Cwd
	}
	if p.Cwd == "" {
		p.Cwd = "/"
	}
	if !path.IsAbs(p.Cwd) {
		// The runtime spec requires it: relative to what, inside?
		return fmt.Errorf("%w: process.cwd %q is not an absolute path", ErrBadConfig, p.Cwd)
	}
	if s.Hostname != "" {
		oci.Hostname = s.Hostname
	}
	if s.Bundle != "" {
		// Without a bundle, NewSpec has added them (and the seccomp
		// profile that goes with them).
		caps, err := ParseCapabilities(s.CapAdd)
		if err != nil {
			return err
		}
		addCapabilities(p, caps)
	}
	if oci.Linux == nil {
		oci.Linux = &specs.Linux{}
	}
	l := oci.Linux
	if err := CheckLimits(s.MemoryLimit, s.PidsLimit, s.CPUs); err != nil {
		return err
	}
	if s.MemoryLimit > 0 || s.PidsLimit > 0 || s.CPUs > 0 {
		if l.Resources == nil {
			l.Resources = &specs.LinuxResources{}
		}
	}
	if s.MemoryLimit > 0 {
		l.Resources.Memory = &specs.LinuxMemory{Limit: &s.MemoryLimit}
	}
	if s.PidsLimit > 0 {
		n := s.PidsLimit
		l.Resources.Pids = &specs.LinuxPids{Limit: &n}
	}
	if s.CPUs > 0 {
		period := uint64(cpuPeriod)
		quota := int64(s.CPUs * cpuPeriod)
		l.Resources.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period}
	}
	if s.UserNS && !hasNamespace(l, specs.UserNamespace) {
		l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		if hasCgroupMount(oci) && !hasNamespace(l, specs.CgroupNamespace) {
			// The kernel lets a user namespace mount only a cgroup
			// namespace it owns (a `runc spec` config has none).
			l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
		}
	}
	if hasNamespace(l, specs.UserNamespace) && len(l.UIDMappings) == 0 {
		l.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: userNSBase, Size: userNSSize}}
		l.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: userNSBase, Size: userNSSize}}
	}
	if hasNamespace(l, specs.UserNamespace) {
		fitPingRange(l)
	}
	if oci.Hostname != "" && !hasNamespace(l, specs.UTSNamespace) {
		// Without its own UTS namespace the container would rename the host.
		return fmt.Errorf("%w: hostname %q needs a uts namespace", ErrBadConfig, oci.Hostname)
	}
	if !hasNamespace(l, specs.MountNamespace) {
		return fmt.Errorf("%w: a mount namespace is required (pivot_root would move the host's root)", ErrBadConfig)
	}
	return nil
}

// CheckLimits checks a container's limits (0 = none), as Run does: a
// command line calls it on its flags before any slow work.
func CheckLimits(memBytes, pids int64, cpus float64) error {
	if memBytes < 0 || pids < 0 || cpus < 0 {
		return fmt.Errorf("%w: negative limit", ErrBadConfig)
	}
	if math.IsNaN(cpus) || math.IsInf(cpus, 0) {
		return fmt.Errorf("%w: cpu quota %v is not a number of cores", ErrBadConfig, cpus)
	}
	if memBytes > 0 && memBytes < MinMemoryLimit {
		return fmt.Errorf("%w: memory limit %d bytes is below the %d MiB the container's init needs to start", ErrBadConfig, memBytes, MinMemoryLimit>>20)
	}
	if cpus > maxCPUs {
		return fmt.Errorf("%w: cpu quota %v cores is more than any machine has (at most %d)", ErrBadConfig, cpus, maxCPUs)
	}
	if cpus > 0 && cpus*cpuPeriod < minCPUQuota {
		return fmt.Errorf("%w: cpu quota %.3f cores is below the kernel's 1 ms minimum", ErrBadConfig, cpus)
	}
	return nil
}

// The CPU quota is given per 100 ms period; the kernel takes no quota under
// 1 ms.
const (
	cpuPeriod   = 100000 // µs
	minCPUQuota = 1000   // µs
	maxCPUs     = 65536
)

// MinMemoryLimit is the smallest memory limit a container can start under:
// the init (a small Go program) and the kernel's own charges for the new
// namespaces need about 1.5 MiB (1 MiB was OOM-killed, 2 MiB started, when
// measured here).
const MinMemoryLimit = 2 << 20

// maxConfigBytes bounds config.json: runc's default config is 2.5 KiB and
// one with the engines' seccomp profile about 30 KiB; a file of megabytes is
// a mistake, refused before it is read.
const maxConfigBytes = 4 << 20

// The default user namespace maps container uids 0–65535 to this range on the
// host, the first range /etc/subuid usually hands out.
const (
	userNSBase = 100000
	userNSSize = 65536
)

// allowDevices lets the container use the nodes linux.devices gives it: the
// device cgroup's rules would otherwise deny them (runc does the same).
func allowDevices(l *specs.Linux) {
	if len(l.Devices) == 0 {
		return
	}
	if l.Resources == nil {
		l.Resources = &specs.LinuxResources{}
	}
	for _, d := range l.Devices {
		typ := d.Type
		if typ == "u" {
			typ = "c"
		}
		if typ == "p" {
			continue // a FIFO is no device to the cgroup
		}
		major, minor := d.Major, d.Minor
		l.Resources.Devices = append(l.Resources.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: typ, Major: &major, Minor: &minor, Access: "rwm"})
	}
}

func hasNamespace(l *specs.Linux, t specs.LinuxNamespaceType) bool {
	for _, ns := range l.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

func hasCgroupMount(s *specs.Spec) bool {
	for _, m := range s.Mounts {
		if m.Type == "cgroup" || m.Type == "cgroup2" {
			return true
		}
	}
	return false
}

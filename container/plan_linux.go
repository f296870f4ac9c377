package container

import (
	"sort"

	"golang.org/x/sys/unix"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/twinboot/twinboot/container/internal/ctinit"
)

// newInitConfig translates a checked OCI config into the init's flat
// instructions. Everything that can be decided before the container exists
// (mount flags, capability masks, rlimit numbers) is decided here, in the
// parent, so that the init only acts.
// rootfs is the host directory the init starts from: the rootfs itself, or
// an overlay the parent mounted over it.
func newInitConfig(cfg *config, rootfs, stateDir string, overlay bool, cgroupVersion string) *ctinit.Config {
	oci, p, l := cfg.OCI, cfg.OCI.Process, cfg.OCI.Linux
	c := &ctinit.Config{
		Hostname:      oci.Hostname,
		Rootfs:        rootfs,
		StateDir:      stateDir,
		Overlay:       overlay,
		Readonly:      oci.Root.Readonly,
		CgroupNS:      hasNamespace(l, specs.CgroupNamespace),
		CgroupVersion: cgroupVersion,
		MaskedPaths:   l.MaskedPaths,
		ReadonlyPaths: l.ReadonlyPaths,
		Exe:           cfg.Exe,
		Args:          p.Args,
		Env:           p.Env,
		Cwd:           p.Cwd,
		UID:           p.User.UID,
		GID:           p.User.GID,
		Groups:        p.User.AdditionalGids,
		OOMScoreAdj:   p.OOMScoreAdj,
		NoNewPrivs:    p.NoNewPrivileges,
		UserNS:        hasNamespace(l, specs.UserNamespace),
		Seccomp:       cfg.Seccomp,
	}
	for _, k := range sortedKeys(l.Sysctl) {
		c.Sysctls = append(c.Sysctls, ctinit.Sysctl{Key: k, Value: l.Sysctl[k]})
	}
	for _, m := range oci.Mounts {
		flags, prop, data := parseMountOptionsProp(m.Options)
		op := ctinit.MountOp{Source: m.Source, Dest: m.Destination, Type: m.Type, Flags: flags, Propagation: prop, Data: data}
		if m.Type == "cgroup" || m.Type == "cgroup2" {
			c.CgroupMounts = append(c.CgroupMounts, op)
			continue
		}
		c.Mounts = append(c.Mounts, op)
		if m.Destination == "/dev" && m.Type == "tmpfs" {
			c.PopulateDev = true
		}
	}
	c.RootPropagation = propagationFlags[l.RootfsPropagation]
	for _, d := range l.Devices {
		c.Devices = append(c.Devices, deviceOp(d))
	}
	for _, r := range p.Rlimits {
		c.Rlimits = append(c.Rlimits, ctinit.RlimitOp{Resource: rlimitNames[r.Type], Soft: r.Soft, Hard: r.Hard})
	}
	if k := p.Capabilities; k != nil {
		c.Caps = &ctinit.CapsOp{
			Bounding:  capMask(k.Bounding),
			Effective: capMask(k.Effective),
			Permitted: capMask(k.Permitted),
			// The kernel accepts an ambient capability only if it is also
			// inheritable.
			Inheritable: capMask(k.Inheritable) | capMask(k.Ambient),
		}
		for _, a := range k.Ambient {
			c.Caps.Ambient = append(c.Caps.Ambient, capNames[a])
		}
	}
	return c
}

// deviceOp turns a linux.devices entry into the init's mknod.
func deviceOp(d specs.LinuxDevice) ctinit.DeviceOp {
	mode := uint32(0o666)
	if d.FileMode != nil {
		mode = uint32(*d.FileMode) & 0o7777
	}
	var typ uint32 = unix.S_IFCHR
	switch d.Type {
	case "b":
		typ = unix.S_IFBLK
	case "p":
		typ = unix.S_IFIFO
	}
	op := ctinit.DeviceOp{Path: d.Path, Mode: typ | mode, Major: d.Major, Minor: d.Minor, UID: -1, GID: -1}
	if d.UID != nil {
		op.UID = int64(*d.UID)
	}
	if d.GID != nil {
		op.GID = int64(*d.GID)
	}
	return op
}

func capMask(names []string) uint64 {
	var m uint64
	for _, n := range names {
		m |= 1 << capNames[n]
	}
	return m
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

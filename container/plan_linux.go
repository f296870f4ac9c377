package container

import (
	"sort"

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
		flags, data := parseMountOptions(m.Options)
		op := ctinit.MountOp{Source: m.Source, Dest: m.Destination, Type: m.Type, Flags: flags, Data: data}
		if m.Type == "cgroup" || m.Type == "cgroup2" {
			c.CgroupMounts = append(c.CgroupMounts, op)
			continue
		}
		c.Mounts = append(c.Mounts, op)
		if m.Destination == "/dev" && m.Type == "tmpfs" {
			c.PopulateDev = true
		}
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

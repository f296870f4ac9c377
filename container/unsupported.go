package container

import (
	"fmt"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// unsupportedFields names, in JSON path form, every field of s that is set
// but that this runtime does not implement. The rule of the house is that a
// config is run as written or refused: a silently dropped seccomp profile or
// hook would make a container less isolated than its author believes.
func unsupportedFields(s *specs.Spec) []string {
	var bad []string
	add := func(set bool, name string) {
		if set {
			bad = append(bad, name)
		}
	}
	if h := s.Hooks; h != nil {
		// The hooks that run inside the container's namespaces (see
		// hooks_linux.go); the others are run.
		add(len(h.CreateContainer) > 0, "hooks.createContainer")
		add(len(h.StartContainer) > 0, "hooks.startContainer")
	}
	add(s.Domainname != "", "domainname")
	add(s.Solaris != nil, "solaris")
	add(s.Windows != nil, "windows")
	add(s.VM != nil, "vm")
	add(s.ZOS != nil, "zos")
	add(s.FreeBSD != nil, "freebsd")
	if r := s.Root; r == nil {
		bad = append(bad, "root (missing)")
	}
	for i, m := range s.Mounts {
		add(len(m.UIDMappings) > 0, fmt.Sprintf("mounts[%d].uidMappings", i))
		add(len(m.GIDMappings) > 0, fmt.Sprintf("mounts[%d].gidMappings", i))
		switch m.Type {
		case "proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup", "cgroup2", "bind", "":
		default:
			bad = append(bad, fmt.Sprintf("mounts[%d].type %q", i, m.Type))
		}
	}
	if p := s.Process; p != nil {
		add(p.Terminal, "process.terminal")
		add(p.ConsoleSize != nil, "process.consoleSize")
		add(p.User.Username != "", "process.user.username")
		add(p.User.Umask != nil, "process.user.umask")
		add(p.CommandLine != "", "process.commandLine")
		add(p.ApparmorProfile != "", "process.apparmorProfile")
		add(p.SelinuxLabel != "", "process.selinuxLabel")
		add(p.Scheduler != nil, "process.scheduler")
		add(p.IOPriority != nil, "process.ioPriority")
		add(p.ExecCPUAffinity != nil, "process.execCPUAffinity")
		for _, r := range p.Rlimits {
			if _, ok := rlimitNames[r.Type]; !ok {
				bad = append(bad, fmt.Sprintf("process.rlimits %q", r.Type))
			}
		}
		if c := p.Capabilities; c != nil {
			for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient} {
				for _, name := range set {
					if _, ok := capNames[name]; !ok {
						bad = append(bad, fmt.Sprintf("process.capabilities %q", name))
					}
				}
			}
		}
	}
	if l := s.Linux; l != nil {
		if sc := l.Seccomp; sc != nil {
			add(sc.ListenerPath != "", "linux.seccomp.listenerPath")
			add(sc.ListenerMetadata != "", "linux.seccomp.listenerMetadata")
		}
		if p := l.RootfsPropagation; p != "" {
			add(propagationFlags[p] == 0, fmt.Sprintf("linux.rootfsPropagation %q", p))
		}
		if p := l.CgroupsPath; p != "" {
			// Relative: under the runtime's own cgroup; absolute: from
			// the hierarchies' roots. A path must not climb out of them,
			// and systemd's slice:prefix:name form is not understood.
			add(strings.Contains("/"+p+"/", "/../") || strings.ContainsAny(p, ":\x00"), fmt.Sprintf("linux.cgroupsPath %q", p))
		}
		for i, d := range l.Devices {
			switch d.Type {
			case "c", "u", "b", "p":
			default:
				bad = append(bad, fmt.Sprintf("linux.devices[%d].type %q", i, d.Type))
			}
		}
		add(l.MountLabel != "", "linux.mountLabel")
		add(l.IntelRdt != nil, "linux.intelRdt")
		add(l.Personality != nil, "linux.personality")
		add(len(l.TimeOffsets) > 0, "linux.timeOffsets")
		add(len(l.NetDevices) > 0, "linux.netDevices")
		add(l.MemoryPolicy != nil, "linux.memoryPolicy")
		for i, ns := range l.Namespaces {
			add(ns.Path != "", fmt.Sprintf("linux.namespaces[%d].path", i))
			switch ns.Type {
			case specs.PIDNamespace, specs.NetworkNamespace, specs.MountNamespace, specs.IPCNamespace,
				specs.UTSNamespace, specs.UserNamespace, specs.CgroupNamespace:
			default:
				bad = append(bad, fmt.Sprintf("linux.namespaces[%d].type %q", i, ns.Type))
			}
		}
		if r := l.Resources; r != nil {
			add(len(r.HugepageLimits) > 0, "linux.resources.hugepageLimits")
			add(r.BlockIO != nil, "linux.resources.blockIO")
			add(r.Network != nil, "linux.resources.network")
			add(len(r.Rdma) > 0, "linux.resources.rdma")
			add(len(r.Unified) > 0, "linux.resources.unified")
			// A v1 hierarchy has a file for each of these, which
			// containerd/cgroups writes; v2 has none for some and other
			// semantics for the rest, so there they stay refused.
			v1 := hostCgroupV1()
			if m := r.Memory; m != nil {
				add(m.Reservation != nil && !v1, "linux.resources.memory.reservation")
				add(m.Swap != nil && (m.Limit == nil || *m.Swap != *m.Limit) && !v1, "linux.resources.memory.swap (other than equal to limit)")
				add(m.Kernel != nil && !v1, "linux.resources.memory.kernel")
				add(m.KernelTCP != nil && !v1, "linux.resources.memory.kernelTCP")
				add(m.Swappiness != nil && !v1, "linux.resources.memory.swappiness")
				add(m.DisableOOMKiller != nil && *m.DisableOOMKiller && !v1, "linux.resources.memory.disableOOMKiller")
				add(m.UseHierarchy != nil, "linux.resources.memory.useHierarchy")
				add(m.CheckBeforeUpdate != nil, "linux.resources.memory.checkBeforeUpdate")
			}
			if c := r.CPU; c != nil {
				add(c.Shares != nil && !v1, "linux.resources.cpu.shares")
				add(c.Burst != nil, "linux.resources.cpu.burst")
				add(c.RealtimeRuntime != nil, "linux.resources.cpu.realtimeRuntime")
				add(c.RealtimePeriod != nil, "linux.resources.cpu.realtimePeriod")
				add(c.Cpus != "" && !v1, "linux.resources.cpu.cpus")
				add(c.Mems != "" && !v1, "linux.resources.cpu.mems")
				add(c.Idle != nil, "linux.resources.cpu.idle")
			}
			for i, d := range r.Devices {
				add(d.Type != "" && d.Type != "a" && d.Type != "c" && d.Type != "b",
					fmt.Sprintf("linux.resources.devices[%d].type %q", i, d.Type))
			}
		}
	}
	sort.Strings(bad)
	return bad
}

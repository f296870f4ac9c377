package container

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The walls besides the namespaces. A namespace gives the container its own
// view (of processes, mounts, the network); it does not stop root inside it
// from asking the kernel for things that act on the whole machine: mount a
// fresh /proc and write a host-wide kernel parameter, load a module, create
// a device node for the host's disk, remount its cgroup and lift its own
// limits. Measured on this runtime before these defaults existed: a
// container had the host's full capability set (CapEff 000001fffeffffff)
// and could do each of those. runc's defaults stop them, and so do these,
// which are runc's:
//
//   - capabilities: only AUDIT_WRITE, KILL and NET_BIND_SERVICE, in every
//     set, and the bounding set cut to them so that nothing the workload
//     executes can regain more (DefaultCapabilities);
//   - no_new_privs: a setuid binary or file capability raises nothing;
//   - seccomp: the engines' default profile (moby/profiles), which refuses
//     the system calls a container has no business making (mount, unshare,
//     kexec_load, init_module, keyctl, bpf, …) unless a capability that
//     needs them was added back;
//   - the device cgroup: only the standard devices can be opened or created
//     (a deny-all rule; the runtime adds null, zero, full, random, urandom,
//     tty, the pty devices);
//   - masked and read-only paths, a read-only /sys and cgroup file system:
//     without CAP_SYS_ADMIN they cannot be unmounted or remounted;
//   - RLIMIT_NOFILE 1024.

// DefaultCapabilities are the capabilities a default container keeps: runc's
// (`runc spec`). KILL lets root inside signal its own processes of other
// users, NET_BIND_SERVICE bind ports below 1024, AUDIT_WRITE write to the
// audit log (login programs need it).
var DefaultCapabilities = []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}

// defaultSysctls are set in every default container's own namespaces. With
// no CAP_NET_RAW, ping needs ICMP datagram sockets, which the kernel gives
// only to the groups in ping_group_range; container engines open it to all
// groups, in the container's network namespace only.
var defaultSysctls = map[string]string{"net.ipv4.ping_group_range": "0 2147483647"}

// fitPingRange narrows the default ping range to the groups a user
// namespace maps: the kernel refuses a range with a group the container's
// namespace cannot name (EINVAL).
func fitPingRange(l *specs.Linux) {
	const key = "net.ipv4.ping_group_range"
	if l.Sysctl[key] != defaultSysctls[key] || len(l.GIDMappings) == 0 {
		return
	}
	lo, hi := l.GIDMappings[0].ContainerID, l.GIDMappings[0].ContainerID+l.GIDMappings[0].Size-1
	for _, m := range l.GIDMappings[1:] {
		lo, hi = min(lo, m.ContainerID), max(hi, m.ContainerID+m.Size-1)
	}
	l.Sysctl[key] = fmt.Sprintf("%d %d", lo, hi)
}

// defaultCapabilities returns the five capability sets of a default
// container. Inheritable stays empty, as in runc since CVE-2022-29162: an
// inheritable capability would let a file with inheritable file
// capabilities regain it.
func defaultCapabilities() *specs.LinuxCapabilities {
	set := func() []string { return slices.Clone(DefaultCapabilities) }
	return &specs.LinuxCapabilities{Bounding: set(), Effective: set(), Permitted: set(), Ambient: set()}
}

// defaultSeccomp is the container engines' default seccomp profile for a
// container with these bounding capabilities: the profile allows more
// system calls when a capability that needs them is there (mount with
// CAP_SYS_ADMIN, for instance).
//
// The profile is built in and only fails for an architecture it does not
// know; should that ever happen, the container fails closed (every system
// call killed) rather than run without a filter.
func defaultSeccomp(bounding []string) *specs.LinuxSeccomp {
	s := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: bounding}}}
	p, err := mobyseccomp.GetDefaultProfile(s)
	if err != nil {
		return &specs.LinuxSeccomp{DefaultAction: specs.ActKillProcess}
	}
	return p
}

// NewSpec is DefaultSpec with capabilities added back (see
// ParseCapabilities), and the default seccomp profile that goes with them:
// `twinboot ct spec --cap-add` and a run without a bundle.
func NewSpec(rootfs string, args, capAdd []string) (*specs.Spec, error) {
	s := DefaultSpec(rootfs, args)
	caps, err := ParseCapabilities(capAdd)
	if err != nil || len(caps) == 0 {
		return s, err
	}
	addCapabilities(s.Process, caps)
	s.Linux.Seccomp = defaultSeccomp(s.Process.Capabilities.Bounding)
	return s, nil
}

// CapabilityNames lists every capability name a config or --cap-add may use.
func CapabilityNames() []string {
	names := make([]string, 0, len(capNames))
	for n := range capNames {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ParseCapabilities turns what a user types (net_raw, CAP_NET_RAW,
// sys_admin, ALL) into capability names. An unknown name is an error that
// names it.
func ParseCapabilities(list []string) ([]string, error) {
	var out []string
	for _, raw := range list {
		for _, w := range strings.Split(raw, ",") {
			w = strings.ToUpper(strings.TrimSpace(w))
			if w == "" {
				continue
			}
			if w == "ALL" {
				return CapabilityNames(), nil
			}
			if !strings.HasPrefix(w, "CAP_") {
				w = "CAP_" + w
			}
			if _, ok := capNames[w]; !ok {
				return nil, fmt.Errorf("%w: unknown capability %q (see capabilities(7); e.g. CAP_NET_RAW)", ErrBadConfig, raw)
			}
			if !slices.Contains(out, w) {
				out = append(out, w)
			}
		}
	}
	return out, nil
}

// addCapabilities gives the process the named capabilities in its bounding,
// effective, permitted and ambient sets (ambient: so that a non-root user
// in the container has them too, as with runc's defaults).
func addCapabilities(p *specs.Process, names []string) {
	if len(names) == 0 {
		return
	}
	if p.Capabilities == nil {
		p.Capabilities = &specs.LinuxCapabilities{}
	}
	c := p.Capabilities
	for _, set := range []*[]string{&c.Bounding, &c.Effective, &c.Permitted, &c.Ambient} {
		for _, n := range names {
			if !slices.Contains(*set, n) {
				*set = append(*set, n)
			}
		}
	}
}

// checkSysctls refuses a kernel parameter that is not the container's own.
// Only the parameters the kernel keeps per namespace may be set, and only
// when the container has that namespace: anything else would change the
// host (runc's rule).
func checkSysctls(l *specs.Linux) error {
	keys := make([]string, 0, len(l.Sysctl))
	for k := range l.Sysctl {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var ns specs.LinuxNamespaceType
		switch {
		case ipcSysctls[k] || strings.HasPrefix(k, "fs.mqueue."):
			ns = specs.IPCNamespace
		case strings.HasPrefix(k, "net."):
			ns = specs.NetworkNamespace
		case k == "kernel.hostname" || k == "kernel.domainname":
			return fmt.Errorf("%w: linux.sysctl %q: set the hostname with the config's hostname field", ErrBadConfig, k)
		default:
			return fmt.Errorf("%w: linux.sysctl %q is not namespaced: setting it would change the host", ErrBadConfig, k)
		}
		if !hasNamespace(l, ns) {
			return fmt.Errorf("%w: linux.sysctl %q needs the container's own %s namespace", ErrBadConfig, k, ns)
		}
		if strings.Contains(k, "/") || strings.Contains(k, "..") {
			return fmt.Errorf("%w: linux.sysctl %q is not a parameter name", ErrBadConfig, k)
		}
	}
	return nil
}

// ipcSysctls are the IPC namespace's parameters (ipc_sysctl.c).
var ipcSysctls = map[string]bool{
	"kernel.msgmax": true, "kernel.msgmnb": true, "kernel.msgmni": true, "kernel.sem": true,
	"kernel.shmall": true, "kernel.shmmax": true, "kernel.shmmni": true, "kernel.shm_rmid_forced": true,
}

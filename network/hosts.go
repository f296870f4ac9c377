package network

import (
	"fmt"
	"net"
	"strings"
)

// checkHostname accepts a hostname as the kernel's ip= word and /etc/hosts
// both take it: letters, digits and '-', 1 to 63 characters, not starting
// or ending with '-'.
func checkHostname(h string) error {
	if h == "" || len(h) > 63 || h[0] == '-' || h[len(h)-1] == '-' {
		return fmt.Errorf("bad hostname %q (letters, digits and '-', at most 63)", h)
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("bad hostname %q (letters, digits and '-', at most 63)", h)
		}
	}
	return nil
}

// Host is one name on the lab network.
type Host struct {
	Name string
	IP   net.IP
}

// Hosts is every name on the lab network: the lab host first, then the
// endpoints in the order they were reserved.
func (l *Lab) Hosts() []Host {
	hs := []Host{{LabHostName, l.host}}
	for _, e := range l.Endpoints() {
		hs = append(hs, Host{e.Hostname, e.Addr.IP})
	}
	return hs
}

// HostsFile is the /etc/hosts both sides get: localhost, then every name.
func HostsFile(hs []Host) string {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n")
	for _, h := range hs {
		fmt.Fprintf(&b, "%s\t%s\n", h.IP, h.Name)
	}
	return b.String()
}

// HostsParam is the kernel command line parameter that carries the names
// into a VM: twinboot.hosts=name=ip,name=ip. The probe writes /etc/hosts
// from it (report.HostsFromCmdline).
const HostsParam = "twinboot.hosts"

// HostsWord is the twinboot.hosts= word for hs.
func HostsWord(hs []Host) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = h.Name + "=" + h.IP.String()
	}
	return HostsParam + "=" + strings.Join(parts, ",")
}

// KernelIP is the ip= word that configures the VM's eth0 before its init
// runs (the kernel's IP autoconfiguration, CONFIG_IP_PNP):
// ip=<client>::<gateway>:<netmask>:<hostname>:<device>:off. No gateway:
// the lab network has no way out. The hostname field also sets the VM's
// hostname.
func (e *Endpoint) KernelIP() string {
	return fmt.Sprintf("ip=%s:::%s:%s:%s:off", e.Addr.IP, net.IP(e.Addr.Mask), e.Hostname, IfName)
}

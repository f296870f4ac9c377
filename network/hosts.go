package network

import (
	"fmt"
	"net"

	"github.com/twinboot/twinboot/guest/report"
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

// Hosts is every name on the lab network: the lab host first, then the
// endpoints in the order they were reserved.
func (l *Lab) Hosts() []report.Host {
	hs := []report.Host{{Name: LabHostName, IP: l.host.String()}}
	for _, e := range l.Endpoints() {
		hs = append(hs, report.Host{Name: e.Hostname, IP: e.Addr.IP.String()})
	}
	return hs
}

// HostsFile is the /etc/hosts every side gets (report.HostsFile).
func (l *Lab) HostsFile() string { return report.HostsFile(l.Hosts()) }

// HostsWord is the kernel command line word that carries the names into a
// VM, whose probe writes its /etc/hosts from it.
func (l *Lab) HostsWord() string { return report.ParamHosts + "=" + report.HostsValue(l.Hosts()) }

// KernelIP is the ip= word that configures the VM's eth0 before its init
// runs (the kernel's IP autoconfiguration, CONFIG_IP_PNP):
// ip=<client>::<gateway>:<netmask>:<hostname>:<device>:off. No gateway:
// the lab network has no way out. The hostname field also sets the VM's
// hostname.
func (e *Endpoint) KernelIP() string {
	return fmt.Sprintf("ip=%s:::%s:%s:%s:off", e.Addr.IP, net.IP(e.Addr.Mask), e.Hostname, IfName)
}

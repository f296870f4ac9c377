package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/internal/event"
)

// netAddr is the side's address and hostname on the lab network, once a
// network check (m) has given it one.
func (m Model) netAddr(side event.Side) string {
	if m.net == nil {
		return ""
	}
	for _, s := range m.net.Sides {
		if s.Side == string(side) {
			return s.Addr + " (" + s.Hostname + ")"
		}
	}
	return ""
}

// netView is the reachability matrix of the last network check: one line
// per path, what the round trip took, or why it failed.
func (m Model) netView(w int) string {
	if m.net == nil {
		return ""
	}
	n := m.net
	lines := []string{ansi.Truncate(m.st.bold.Render("lab network "+n.Network)+
		m.st.dim.Render(fmt.Sprintf(" · %s · lab host %s · round trips over one TCP connection, one stream", n.Subnet, n.LabHost)), w, "…")}
	for _, p := range n.Paths {
		arrow := fmt.Sprintf("  %-9s → %-9s ", nodeName(p.From), nodeName(p.To))
		var what string
		if p.OK {
			what = m.st.yes.Render("ok") + fmt.Sprintf("  round trip %s (p50), stream %.1f MB/s", fmtMicros(p.RTTP50us), p.StreamMBps)
		} else {
			what = m.st.fail.Render("FAILED") + "  " + p.Error
		}
		lines = append(lines, ansi.Truncate(arrow+what, w, "…"))
	}
	return strings.Join(lines, "\n")
}

// netRTTs are the round trips (p50, µs) from the lab host to the VM and to
// the container in the last network check, when both paths worked.
func (m Model) netRTTs() (vm, ct float64, ok bool) {
	if m.net == nil {
		return 0, 0, false
	}
	var okVM, okCt bool
	for _, p := range m.net.Paths {
		if p.From != compare.NodeLabHost || !p.OK {
			continue
		}
		switch p.To {
		case compare.NodeVM:
			vm, okVM = p.RTTP50us, true
		case compare.NodeContainer:
			ct, okCt = p.RTTP50us, true
		}
	}
	return vm, ct, okVM && okCt
}

func nodeName(n string) string {
	switch n {
	case compare.NodeLabHost:
		return "lab host"
	case compare.NodeContainer:
		return "container"
	case compare.NodeVM:
		return "VM"
	}
	return n
}

func fmtMicros(us float64) string {
	if us >= 1000 {
		return fmt.Sprintf("%.1f ms", us/1000)
	}
	return fmt.Sprintf("%.0f µs", us)
}

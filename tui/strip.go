package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinboot/twinboot/compare"
)

// stripView is the comparison at the bottom: boot time and memory as bars
// with their ratio, the kernel-sharing facts, and the bench when there is one.
func (m Model) stripView(w int, compact bool) string {
	inner := max(w-4, 20)
	var lines []string
	lines = append(lines, m.st.title.Render("Comparison")+m.st.dim.Render(" · VM against container, same probe"))

	vmReady, vmOK := m.vm.ready()
	ctReady, ctOK := m.ct.ready()
	vmMem, vmMemLabel := m.vmMemory()
	ctMem, ctMemLabel := m.ctMemory()

	labelW := 26
	if compact {
		labelW = 13
	}
	valueW := 22
	barW := max(inner-labelW-valueW-2, 4)
	row := func(label, value string, frac float64, style lipgloss.Style) string {
		label = ansi.Truncate(label, labelW, "…")
		if strings.HasPrefix(label, "memory") {
			label = m.mark(lookMemory, label)
		} else if strings.HasPrefix(label, "time to READY") || strings.HasPrefix(label, "READY") {
			label = m.mark(lookReady, label)
		}
		label += strings.Repeat(" ", labelW-ansi.StringWidth(label))
		return label + style.Render(bar(frac, barW)) + " " + ansi.Truncate(value, valueW, "…")
	}
	frac := func(a, b float64) (float64, float64) {
		top := max(a, b)
		if top <= 0 {
			return 0, 0
		}
		return a / top, b / top
	}
	emu := ""
	if m.emulated {
		emu = " emu"
	}

	// Boot time.
	fv, fc := frac(float64(vmReady), float64(ctReady))
	vmT, ctT := m.vm.missing(), m.ct.missing()
	if vmOK {
		vmT = dur(vmReady) + emu
	}
	if ctOK {
		ctT = dur(ctReady) + emu
	}
	bootRatio := ratio(float64(vmReady), float64(ctReady))
	// Memory.
	mv, mc := frac(float64(vmMem), float64(ctMem))
	vmM, ctM := m.vm.missing(), m.ct.missing()
	if vmMem > 0 {
		vmM = sizeText(vmMem)
	}
	if ctMem > 0 {
		ctM = sizeText(ctMem)
		if compact && ctMemLabel != "peak" {
			ctM += " " + ctMemLabel
		}
	}
	memRatio := ratio(float64(vmMem), float64(ctMem))

	if compact {
		// One line per metric, both bars on it, and no title: small
		// terminals need the rows for the panes.
		lines = lines[:0]
		bw := max((inner-56)/2, 3) // the fixed text around the bars takes 56 cells
		pair := func(label string, fv, fc float64, v, c, r string) string {
			return fmt.Sprintf("%-7sVM %s %-12s ct %s %-14s %s", label,
				m.st.accent("vm").Render(bar(fv, bw)), v, m.st.accent("container").Render(bar(fc, bw)), c, "VM/ct "+r)
		}
		lines = append(lines,
			m.mark(lookReady, pair("READY", fv, fc, vmT, ctT, bootRatio)),
			m.mark(lookMemory, pair("memory", mv, mc, vmM, ctM, memRatio)))
		if vmRTT, ctRTT, ok := m.netRTTs(); ok {
			nv, nc := frac(vmRTT, ctRTT)
			lines = append(lines, pair("net rtt", nv, nc, fmtMicros(vmRTT)+emu, fmtMicros(ctRTT)+emu, ratio(vmRTT, ctRTT)))
		}
	} else {
		lines = append(lines,
			row("time to READY  VM", vmT, fv, m.st.accent("vm")),
			row("               container", ctT, fc, m.st.accent("container")),
			m.st.dim.Render(strings.Repeat(" ", labelW))+"VM/container: "+m.st.bold.Render(bootRatio),
			row("memory  VM "+vmMemLabel, vmM, mv, m.st.accent("vm")),
			row("        container "+ctMemLabel, ctM, mc, m.st.accent("container")),
			m.st.dim.Render(strings.Repeat(" ", labelW))+"VM/container: "+m.st.bold.Render(memRatio),
		)
		// The lab network, once m has checked it: a round trip from the lab
		// host through the VMM and a virtual NIC, against the kernel alone.
		if vmRTT, ctRTT, ok := m.netRTTs(); ok {
			nv, nc := frac(vmRTT, ctRTT)
			lines = append(lines,
				row("round trip  lab host → VM", fmtMicros(vmRTT)+emu, nv, m.st.accent("vm")),
				row("            → container", fmtMicros(ctRTT)+emu, nc, m.st.accent("container")),
				m.st.dim.Render(strings.Repeat(" ", labelW))+"VM/container: "+m.st.bold.Render(ratio(vmRTT, ctRTT)),
			)
		}
	}
	lines = append(lines, m.kernelFacts(inner, compact)...)
	lines = append(lines, m.benchLines(inner, compact)...)
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, inner, "…")
	}
	return m.st.strip.Width(w - 2).Render(strings.Join(lines, "\n"))
}

// vmMemory is what the VM costs the host: the guest RAM it touched plus the
// VMM's own overhead, the figure comparable with a container's cgroup peak.
func (m Model) vmMemory() (uint64, string) {
	if m.vm.done == nil {
		return 0, "(touched+VMM)"
	}
	mem := m.vm.done.Memory
	return mem.TouchedBytes + mem.VMMOverheadBytes, "(touched+VMM)"
}

// ctMemory is the container's figure to set against the VM's: the cgroup's
// peak, or, where the cgroup reported none, the processes' RSS, labelled as
// such.
func (m Model) ctMemory() (uint64, string) {
	if m.ct.done == nil {
		return 0, "peak"
	}
	mem := m.ct.done.Memory
	if mem.CgroupPeakBytes == 0 && mem.RSSBytes > 0 {
		return mem.RSSBytes, "RSS"
	}
	return mem.CgroupPeakBytes, "peak"
}

// kernelFacts is the lesson of the strip: how many kernels, whose boot_id,
// who answers the probe's syscalls.
func (m Model) kernelFacts(w int, compact bool) []string {
	r := m.lastRun
	if r == nil {
		return []string{m.mark(lookKernels|lookSyscalls, m.st.dim.Render("kernel facts: waiting for both sides to reach READY…"))}
	}
	k := r.Kernel
	if k.HostRelease == "" && k.VMRelease == "" && k.ContainerRelease == "" {
		return []string{m.mark(lookKernels|lookSyscalls, m.st.dim.Render("kernel facts: not reported for this run"))}
	}
	// A side that did not report has no facts: say so rather than print a
	// "different" or a 0 that was never measured.
	bootID := func(release string, same bool) string {
		switch {
		case release == "":
			return "unknown (no report)"
		case same:
			return "same as host"
		}
		return "different"
	}
	exits := fmt.Sprintf("%d VM exits", k.VMSyscallExits)
	line1 := fmt.Sprintf("kernels in RAM: %s · boot_id: VM %s, container %s",
		m.st.bold.Render(fmt.Sprint(k.KernelsInRAM)), bootID(k.VMRelease, k.VMBootIDSame), bootID(k.ContainerRelease, k.ContainerBootIDSame))
	if k.GuestKernelBytes > 0 && !compact {
		line1 += fmt.Sprintf(" · guest kernel %s in RAM", sizeText(k.GuestKernelBytes))
	}
	vmPart := fmt.Sprintf("VM's %d getppid → its own kernel (%s)", k.VMSyscalls, exits)
	ctPart := fmt.Sprintf("container's %d → host kernel (0 exits: no VM)", k.ContainerSyscalls)
	if compact {
		vmPart = fmt.Sprintf("VM → own kernel (%s)", exits)
		ctPart = "container → host kernel"
	}
	if k.VMRelease == "" {
		vmPart = "VM: no report"
	}
	if k.ContainerRelease == "" {
		ctPart = "container: no report"
	}
	line2 := m.mark(lookSyscalls, "syscalls: "+vmPart+" · "+ctPart)
	line1 = m.mark(lookKernels, line1)
	return []string{line1, line2}
}

// benchLines show `b`: a progress bar while it runs, then the distribution
// of time to READY per side as a sparkline with its figures.
func (m Model) benchLines(w int, compact bool) []string {
	b := m.bench
	if !b.active && b.total == 0 {
		return nil
	}
	var out []string
	if b.active {
		pw := max(min(w-30, 50), 10)
		frac := 0.0
		if b.total > 0 {
			frac = float64(b.done) / float64(b.total)
		}
		out = append(out, fmt.Sprintf("bench %d/%d runs [", b.done, b.total)+
			m.st.accent("vm").Render(bar(frac, pw))+fmt.Sprintf("] %3.0f%%", frac*100))
	}
	sparkW := 16
	if compact {
		sparkW = 10
	}
	dist := func(name, side string, vals []float64) {
		if len(vals) == 0 {
			return
		}
		line := fmt.Sprintf("%-10s %s", name, m.st.accent(side).Render(sparkline(vals, sparkW)))
		if st, ok := findStat(b.stats, side, "ready_ns"); ok {
			line += fmt.Sprintf(" min %s · median %s · p90 %s · max %s (n=%d)",
				dur(time.Duration(st.Min)), dur(time.Duration(st.Median)), dur(time.Duration(st.P90)), dur(time.Duration(st.Max)), st.N)
			if st.RatioToContainer > 0 {
				line += fmt.Sprintf(" · VM/ct %s", ratio(st.RatioToContainer, 1))
			}
		} else {
			line += fmt.Sprintf(" %d runs so far", len(vals))
		}
		out = append(out, line)
	}
	dist("VM", "vm", b.vmReady)
	dist("container", "container", b.ctReady)
	if len(out) > 0 {
		out[0] = m.mark(lookBench, out[0])
	}
	return out
}

func findStat(stats []compare.Stat, side, metric string) (compare.Stat, bool) {
	for _, s := range stats {
		if s.Side == side && s.Metric == metric {
			return s, true
		}
	}
	return compare.Stat{}, false
}

package compare

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// WriteTable prints results for people: for one run, the VM and the
// container side by side; for a bench, the statistics. Both end with the
// kernel facts and the peers.
func WriteTable(w io.Writer, res Results) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	h := res.Host
	where := fmt.Sprintf("host %s (Linux %s, %s, KVM %s, cgroup %s)", h.Hostname, h.KernelRelease, h.CPUModel, h.KVM, h.Cgroup)
	if o := res.Outer; o != nil {
		// Nested mode: the figures come from the lab machine inside the host.
		where = fmt.Sprintf("host %s (Linux %s, %s, KVM %s) → lab machine (Linux %s, KVM %s, cgroup %s)",
			o.Hostname, o.KernelRelease, o.CPUModel, o.KVM, h.KernelRelease, h.KVM, h.Cgroup)
	}
	fmt.Fprintf(tw, "twinboot %s · %s · %s · %s\n", res.Command, modeText(res), where, res.Created.UTC().Format("2006-01-02 15:04 UTC"))
	if res.Emulated {
		fmt.Fprintf(tw, "Timings are emulated (nested mode): compare them with each other, never with native figures.\n")
	}
	last := lastMeasured(res.Runs)
	if res.Command == "bench" && len(res.Stats) > 0 {
		writeStats(tw, res)
	} else if last != nil {
		writeSideBySide(tw, last)
	}
	if last != nil {
		writeKernel(tw, res, last)
	}
	writePeers(tw, res)
	return tw.Flush()
}

func modeText(res Results) string {
	if res.Emulated {
		return "mode " + res.Mode + " (emulated)"
	}
	return "mode " + res.Mode
}

// lastMeasured is the last non-warmup run: the one `run` made, or the most
// recent of a bench, whose kernel facts stand for all (they do not drift).
func lastMeasured(runs []Run) *Run {
	for i := len(runs) - 1; i >= 0; i-- {
		if !runs[i].Warmup {
			return &runs[i]
		}
	}
	return nil
}

func writeSideBySide(w io.Writer, r *Run) {
	vm, ct := r.VM, r.Container
	g := &grid{}
	g.row("", "VM (own kernel)", "", "container (host's kernel)", "")
	g.row("time to READY", "", readyText(vm), "", readyText(ct)+ratioText(vm, ct))
	g.row("ended", endText(vm), "", endText(ct), "")
	g.title("boot phases (host clock, from each side's start)")
	n := max(phasesOf(vm), phasesOf(ct))
	for i := 0; i < n; i++ {
		vn, vt := phaseCell(vm, i)
		cn, ct2 := phaseCell(ct, i)
		g.row("", vn, vt, cn, ct2)
	}
	g.title("memory")
	vmm, ctm := memOf(vm), memOf(ct)
	g.row("", "guest RAM configured", bytesText(vmm.ConfiguredBytes), "cgroup peak", bytesText(ctm.CgroupPeakBytes))
	g.row("", "guest RAM touched", bytesText(vmm.TouchedBytes), "RSS", bytesText(ctm.RSSBytes))
	g.row("", "VMM overhead", bytesText(vmm.VMMOverheadBytes), "PSS", bytesText(ctm.PSSBytes))
	g.row("", "MemTotal seen inside", seenMem(vm), "MemTotal seen inside", seenMem(ct))
	g.write(w)
	for _, s := range []*Side{vm, ct} {
		if s != nil && s.Error != "" {
			fmt.Fprintf(w, "%s failed: %s\n", s.Name, s.Error)
		}
	}
}

// grid prints rows of cells in columns as wide as their widest cell, with
// full-width title lines between them. (tabwriter would size columns per
// block of lines, so sections would not line up with each other.)
type grid struct {
	rows [][]string // a row of one cell is a title
}

func (g *grid) row(cells ...string) { g.rows = append(g.rows, cells) }
func (g *grid) title(t string)      { g.rows = append(g.rows, []string{"\n" + t}) }

func (g *grid) write(w io.Writer) {
	var width []int
	for _, r := range g.rows {
		if len(r) == 1 {
			continue
		}
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	fmt.Fprintln(w)
	for _, r := range g.rows {
		if len(r) == 1 {
			fmt.Fprintln(w, r[0])
			continue
		}
		var b strings.Builder
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

func phasesOf(s *Side) int {
	if s == nil {
		return 0
	}
	return len(s.Phases)
}

func phaseCell(s *Side, i int) (string, string) {
	if s == nil || i >= len(s.Phases) {
		return "", ""
	}
	return s.Phases[i].Name, durText(float64(s.Phases[i].At))
}

func memOf(s *Side) Memory {
	if s == nil {
		return Memory{}
	}
	return s.Memory
}

func seenMem(s *Side) string {
	if s == nil || s.Report == nil || s.Report.MemTotalKB == nil {
		return "—"
	}
	return bytesText(*s.Report.MemTotalKB << 10)
}

func readyText(s *Side) string {
	if !s.OK() {
		return "no READY"
	}
	return durText(float64(s.ReadyNS))
}

func endText(s *Side) string {
	switch {
	case s == nil:
		return "not run"
	case s.Error != "":
		return s.Reason + " (failed, see below)"
	}
	return s.Reason
}

func ratioText(a, b *Side) string {
	if !a.OK() || !b.OK() {
		return ""
	}
	return fmt.Sprintf("   (VM/container %.1f×)", float64(a.ReadyNS)/float64(b.ReadyNS))
}

func writeStats(w io.Writer, res Results) {
	fmt.Fprintf(w, "\n%d measured runs (+%d warmup), interleaved VM, container, peers\n", res.Config.Runs, res.Config.Warmup)
	fmt.Fprintf(w, "side\tmetric\tN\tmin\tmedian\tp90\tmax\tvs container\tours/peer\n")
	for _, s := range res.Stats {
		if strings.HasPrefix(s.Metric, PhasePrefix) {
			continue // phases are in the JSON and CSV; the table keeps to the headline
		}
		f := func(v float64) string { return valueText(v, s.Unit) }
		vs, ours := "", ""
		if s.RatioToContainer > 0 {
			vs = fmt.Sprintf("%.2f×", s.RatioToContainer)
		}
		if s.OursToPeer > 0 {
			ours = fmt.Sprintf("%s %.2f×", s.Ours, s.OursToPeer)
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Side, s.Metric, s.N, f(s.Min), f(s.Median), f(s.P90), f(s.Max), vs, ours)
	}
	fmt.Fprintf(w, "(median and nearest-rank p90; ratios are medians of run-by-run ratios)\n")
}

func writeKernel(w io.Writer, res Results, r *Run) {
	k := r.Kernel
	exits := "not measured"
	if k.SyscallExitsMethod != "" && !strings.HasPrefix(k.SyscallExitsMethod, "not measured") {
		exits = fmt.Sprint(k.VMSyscallExits)
	}
	g := &grid{}
	g.row("kernel (host: "+k.HostRelease+")", "VM", "container")
	g.row("  release", orDash(k.VMRelease), orDash(k.ContainerRelease))
	g.row("  same kernel as host", yesNo(k.VMSameAsHost), yesNo(k.ContainerSameAsHost))
	g.row("  same boot_id as host", yesNo(k.VMBootIDSame), yesNo(k.ContainerBootIDSame))
	g.row("  getppid burst answered by", fmt.Sprintf("guest kernel (%d calls)", k.VMSyscalls), fmt.Sprintf("host kernel (%d calls)", k.ContainerSyscalls))
	g.row("  VM exits it caused", exits, "0 (no hypervisor)")
	g.write(w)
	fmt.Fprintf(w, "kernels in RAM: %d (the host's + 1 per running VM)\n", k.KernelsInRAM)
	if k.GuestKernelBytes > 0 {
		fmt.Fprintf(w, "guest kernel in memory: %s (text %s + data %s); a container adds none\n",
			bytesText(k.GuestKernelBytes), bytesText(k.GuestKernelText), bytesText(k.GuestKernelData))
	}
	if k.SyscallExitsMethod != "" {
		fmt.Fprintf(w, "VM exits by the burst: %s\n", k.SyscallExitsMethod)
	}
}

func writePeers(w io.Writer, res Results) {
	if len(res.Peers) == 0 {
		return
	}
	fmt.Fprintf(w, "\npeers\n")
	last := lastMeasured(res.Runs)
	for _, p := range res.Peers {
		if p.Skipped != "" {
			fmt.Fprintf(w, "  %s\tskipped: %s\n", p.Name, p.Skipped)
			continue
		}
		line := fmt.Sprintf("  %s %s", p.Name, p.Version)
		if res.Command != "bench" && last != nil {
			for i := range last.Peers {
				ps := &last.Peers[i]
				if ps.Name != p.Name {
					continue
				}
				ours := last.Container
				if oursFor(p.Name) == "vm" {
					ours = last.VM
				}
				line += "\ttime to READY " + readyText(ps)
				if ps.OK() && ours.OK() {
					line += fmt.Sprintf(" (ours/peer %.2f×)", float64(ours.ReadyNS)/float64(ps.ReadyNS))
				} else if ps.Error != "" {
					line += ": " + ps.Error
				}
			}
		}
		fmt.Fprintf(w, "%s\n", line)
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func valueText(v float64, unit string) string {
	switch unit {
	case "ns":
		return durText(v)
	case "bytes":
		return bytesText(uint64(v))
	}
	return fmt.Sprintf("%.0f", v)
}

func durText(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.0f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

func bytesText(b uint64) string {
	switch {
	case b == 0:
		return "—"
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinboot/twinboot/density"
	"github.com/twinboot/twinboot/internal/event"
)

// The fleet view (the efficiency lesson): `f` starts N VMs and M containers
// at once (package density, through the engine's Fleet), the screen fills
// with one small tile per instance as each becomes READY, with running
// totals for both kinds side by side; `x` stops them all.

// Defaults for Options.FleetVMs and FleetContainers (twinboot lab's
// --fleet-vms and --fleet-containers say the same).
const (
	defaultFleetVMs        = 4
	defaultFleetContainers = 8
)

// fleetKeys are the fleet view's own keys.
type fleetKeys struct {
	Start key.Binding
	Stop  key.Binding
	Close key.Binding
	Quit  key.Binding // the lab's, shown in this view's help too
}

func newFleetKeys() fleetKeys {
	return fleetKeys{
		Start: key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "fleet: start N of each")),
		Stop:  key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "stop the fleet")),
		Close: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back to the two panes")),
	}
}

func (k fleetKeys) ShortHelp() []key.Binding { return []key.Binding{k.Start, k.Stop, k.Close, k.Quit} }
func (k fleetKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Start, k.Stop, k.Close, k.Quit}}
}

// fleetTile is one instance on screen.
type fleetTile struct {
	index  int
	ready  time.Duration
	memory uint64
	failed string
}

// fleetKind is one kind's half of the view.
type fleetKind struct {
	asked int
	tiles map[int]*fleetTile
	// measured is set once the fleet is stopped and measured.
	measured *density.Fleet
}

func (f *fleetKind) readyCount() (n int, mem uint64, last time.Duration) {
	for _, t := range f.tiles {
		if t.failed == "" {
			n++
			mem += t.memory
			last = max(last, t.ready)
		}
	}
	return n, mem, last
}

// fleetState is the fleet view's model: folded from density's events,
// rendered by view.
type fleetState struct {
	keys    fleetKeys
	open    bool
	running bool
	vms     fleetKind
	cts     fleetKind
	window  time.Duration
}

func newFleetState(quit key.Binding) fleetState {
	k := newFleetKeys()
	k.Quit = quit
	return fleetState{keys: k}
}

// reset starts a new fleet of the given sizes.
func (f *fleetState) reset(vms, cts int) {
	f.open, f.running = true, true
	f.vms = fleetKind{asked: vms, tiles: map[int]*fleetTile{}}
	f.cts = fleetKind{asked: cts, tiles: map[int]*fleetTile{}}
	f.window = 0
}

func (f *fleetState) kind(k event.Side) *fleetKind {
	if k == event.VM {
		return &f.vms
	}
	return &f.cts
}

// apply folds one density event; it reports whether the event was one.
func (f *fleetState) apply(ev event.Event) bool {
	switch e := ev.(type) {
	case density.StepStarted:
		f.vms.asked, f.cts.asked = e.Fleet.VMs, e.Fleet.Containers
	case density.InstanceReady:
		fk := f.kind(e.Side)
		if fk.tiles == nil {
			fk.tiles = map[int]*fleetTile{}
		}
		fk.tiles[e.Index] = &fleetTile{index: e.Index, ready: time.Duration(e.AtNS), memory: e.MemoryBytes}
	case density.InstanceFailed:
		fk := f.kind(e.Side)
		if fk.tiles == nil {
			fk.tiles = map[int]*fleetTile{}
		}
		fk.tiles[e.Index] = &fleetTile{index: e.Index, failed: e.Err}
	case density.StepDone:
		for _, p := range []struct {
			k event.Side
			m *density.Fleet
		}{{event.VM, e.Result.VM}, {event.Container, e.Result.Container}} {
			if p.m == nil {
				continue
			}
			fk := f.kind(p.k)
			fk.measured = p.m
			if fk.tiles == nil {
				fk.tiles = map[int]*fleetTile{}
			}
			for _, in := range p.m.Instances {
				if in.Error != "" {
					fk.tiles[in.Index] = &fleetTile{index: in.Index, failed: in.Error}
				}
			}
		}
		f.window = time.Duration(e.Result.WindowNS)
	default:
		return false
	}
	return true
}

// fleetView renders the fleet in w×h: VMs left, containers right, each with
// its running totals over its tiles.
func (m Model) fleetView(w, h int) string {
	leftW := w / 2
	return lipgloss.JoinHorizontal(lipgloss.Top,
		m.fleetHalf(event.VM, &m.fleet.vms, leftW, h),
		m.fleetHalf(event.Container, &m.fleet.cts, w-leftW, h))
}

const tileWidth = 13 // with its border

func (m Model) fleetHalf(side event.Side, fk *fleetKind, w, h int) string {
	inner := max(w-4, 10)
	n, mem, last := fk.readyCount()
	title := m.st.accent(string(side)).Render(strings.ToUpper(plural(side)))
	lines := []string{title + m.st.dim.Render(fmt.Sprintf(" · %d of %d READY", n, fk.asked))}
	memLine, timeLine := "memory: none yet", "READY: waiting…"
	if n > 0 {
		memLine = fmt.Sprintf("memory %s, %s each", sizeText(mem), sizeText(mem/uint64(n)))
		timeLine = fmt.Sprintf("all READY after %s", dur(last))
		if n < fk.asked {
			timeLine = fmt.Sprintf("last READY after %s", dur(last))
		}
	}
	lines = append(lines, m.mark(lookMemory, memLine), m.mark(lookReady, timeLine))
	if f := fk.measured; f != nil && m.fleet.window > 0 && f.MemoryBytes > 0 { // 0: stopped before its window ended
		lines = append(lines, m.st.dim.Render(fmt.Sprintf("measured at the end: %s in all, idle CPU %.1f%% of one CPU",
			sizeText(f.MemoryBytes), 100*float64(f.IdleCPUNS)/float64(m.fleet.window))))
	}
	lines = append(lines, "")
	// The tiles, in index order, as many per row as fit.
	idx := make([]int, 0, len(fk.tiles))
	for i := range fk.tiles {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	perRow := max(inner/tileWidth, 1)
	var row, rows []string
	for _, i := range idx {
		row = append(row, m.tile(side, fk.tiles[i]))
		if len(row) == perRow {
			rows = append(rows, lipgloss.JoinHorizontal(lipgloss.Top, row...))
			row = nil
		}
	}
	if len(row) > 0 {
		rows = append(rows, lipgloss.JoinHorizontal(lipgloss.Top, row...))
	}
	if waiting := fk.asked - len(fk.tiles); waiting > 0 && m.fleet.running {
		rows = append(rows, m.st.dim.Render(fmt.Sprintf("%d starting…", waiting)))
	}
	lines = append(lines, rows...)
	body := lipgloss.JoinVertical(lipgloss.Left, lines...)
	return m.st.pane.Width(w - 2).Height(max(h-2, 3)).Render(clip(body, inner, max(h-2, 3)))
}

// tile is one instance: its number, when it was READY and its memory, or
// FAILED.
func (m Model) tile(side event.Side, t *fleetTile) string {
	name := "vm"
	if side == event.Container {
		name = "ct"
	}
	text := fmt.Sprintf("%s %d ✓\n%s\n%s", name, t.index, ansi.Truncate(dur(t.ready), tileWidth-4, ""), ansi.Truncate(sizeText(t.memory), tileWidth-4, ""))
	if t.failed != "" {
		text = fmt.Sprintf("%s %d\n%s\n%s", name, t.index, m.st.fail.Render("FAILED"), ansi.Truncate(t.failed, tileWidth-4, "…"))
	}
	return m.st.card.Width(tileWidth - 2).Render(text)
}

func plural(side event.Side) string {
	if side == event.VM {
		return "VMs"
	}
	return "containers"
}

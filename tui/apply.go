package tui

import (
	"fmt"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/internal/event"
)

// apply folds one engine event into the model.
func (m *Model) apply(ev event.Event) {
	if m.fleet.apply(ev) {
		return
	}
	if f, ok := ev.(event.Failure); ok && m.job != nil && m.job.kind == jobFleet {
		// One instance of the fleet failed: its tile says so; the VM and
		// container panes belong to r.
		m.status = f.Err
		return
	}
	switch e := ev.(type) {
	case event.Phase:
		if s := m.side(e.Side); s != nil {
			s.addPhase(e)
		}
		if e.Emulated {
			m.emulated = true
		}
	case event.Console:
		if s := m.side(e.Side); s != nil {
			s.addConsole(e.Text)
		}
	case event.Log:
		if e.Side != "" {
			m.status = fmt.Sprintf("%s: %s", sideName(e.Side), e.Msg)
		} else {
			m.status = e.Msg
		}
	case event.Progress:
		// Bench progress is counted from RunDone below; other long work
		// (building, booting the lab machine) is reported here.
		if e.Total > 0 {
			m.status = fmt.Sprintf("%s: %d/%d", e.What, e.Done, e.Total)
		}
	case event.Failure:
		if s := m.side(e.Side); s != nil {
			s.failure = e.Err
		} else {
			m.errLine = e.Err
		}
	case compare.RunStarted:
		m.runInfo = e
		m.mode = e.Mode
		m.emulated = e.Emulated
		m.vm.reset()
		m.ct.reset()
		m.lastRun = nil
	case compare.SideDone:
		side := e.Side
		switch event.Side(side.Name) {
		case event.VM:
			m.vm.done = &side
		case event.Container:
			m.ct.done = &side
		}
	case compare.RunDone:
		run := e.Run
		m.lastRun = &run
		// A run's end carries both sides too, in case their SideDone
		// events were not sent (bench streams may skip them).
		if run.VM != nil && m.vm.done == nil {
			m.vm.done = run.VM
		}
		if run.Container != nil && m.ct.done == nil {
			m.ct.done = run.Container
		}
		if m.bench.active && !run.Warmup {
			m.bench.done++
			if run.VM != nil && run.VM.ReadyNS > 0 {
				m.bench.vmReady = append(m.bench.vmReady, float64(run.VM.ReadyNS))
			}
			if run.Container != nil && run.Container.ReadyNS > 0 {
				m.bench.ctReady = append(m.bench.ctReady, float64(run.Container.ReadyNS))
			}
		}
	case compare.NetDone:
		res := e.Results
		m.net = &res
		m.emulated = m.emulated || res.Emulated
	case compare.Finished:
		res := e.Results
		m.results = &res
		m.bench.stats = res.Stats
		m.emulated = m.emulated || res.Emulated
		if res.Mode != "" {
			m.mode = res.Mode
		}
	}
}

func (m *Model) side(s event.Side) *sideState {
	switch s {
	case event.VM:
		return &m.vm
	case event.Container:
		return &m.ct
	}
	return nil
}

func sideName(s event.Side) string {
	switch s {
	case event.VM:
		return "virtual machine"
	case event.Container:
		return "container"
	}
	return string(s)
}

package tui

import (
	"context"
	"errors"
	"fmt"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/twinboot/twinboot/lab"
)

// ErrCleanup means the engine did not finish cleaning up in time after the
// lab quit; something (a VM, a container, QEMU) may be left behind.
var ErrCleanup = errors.New("engine still running after quit")

// Run opens the lab on the terminal and returns when the student quits.
// Whatever way the program ends (q, Ctrl-C, SIGTERM, an error), Run cancels
// every engine call and waits up to cleanup for it to return, because the
// engine removes its VMs, containers and mounts on the way out.
func Run(ctx context.Context, engine lab.Engine, opts Options, cleanup time.Duration, progOpts ...tea.ProgramOption) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := New(ctx, engine, opts)
	p := tea.NewProgram(m, append([]tea.ProgramOption{tea.WithAltScreen(), tea.WithContext(ctx)}, progOpts...)...)
	_, err := p.Run()
	m.jobs.stop()
	cancel()
	if !m.jobs.wait(cleanup) {
		return fmt.Errorf("%w (waited %s)", ErrCleanup, cleanup)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tea.ErrProgramPanic):
		return fmt.Errorf("lab: %w", err)
	case errors.Is(err, tea.ErrProgramKilled), errors.Is(err, tea.ErrInterrupted), errors.Is(err, context.Canceled):
		// Stopped by a signal: the engine has cleaned up, which is what
		// matters; the shell sees the signal's usual outcome.
		return nil
	}
	return fmt.Errorf("lab: %w", err)
}

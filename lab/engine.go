package lab

import (
	"context"
	"io"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/internal/event"
)

// Engine is what the lab's screen (package tui) needs: runs, benchmarks,
// shells and exports. It is an interface so that the screen can be driven
// by a recorded event stream (Replay), and so that the command decides
// which engine is built: Native, Nested or a Replay.
//
// Every method that runs something must stop and clean up (VM, container,
// QEMU, mounts) when ctx is cancelled, and must return only once that
// cleanup is done: the lab waits for it before the process exits.
type Engine interface {
	// Run boots the VM and the container once and emits the events of that
	// run, ending with compare.Finished.
	Run(ctx context.Context, sink event.Sink) error
	// Bench runs both sides runs times, interleaved, and emits one
	// RunStarted/RunDone pair per run, then compare.Finished with statistics.
	Bench(ctx context.Context, runs int, sink event.Sink) error
	// Shell prepares an interactive shell inside side (the probe's shell
	// mode: on the serial console for the VM, in the namespaces for the
	// container). The lab suspends itself and runs the returned command on
	// the terminal. An engine that cannot open a shell on this host returns
	// an error saying why; the lab shows it.
	Shell(ctx context.Context, side event.Side) (Shell, error)
	// Fleet starts vms VMs and containers containers at once (package
	// density), emits density's events as each becomes READY, keeps them up
	// and idle until ctx is cancelled, then stops them all and returns once
	// every one is gone.
	Fleet(ctx context.Context, vms, containers int, sink event.Sink) error
	// Net boots both sides at once on one lab network (package network)
	// and emits the reachability matrix as compare.NetDone: each side's
	// address, and lab host → VM, lab host → container, VM → container,
	// container → VM with their round trips.
	Net(ctx context.Context, sink event.Sink) error
	// Export writes res as JSON, CSV and charts into dir and returns the
	// paths written.
	Export(ctx context.Context, res compare.Results, dir string) ([]string, error)
}

// Shell is an interactive session the lab hands the terminal to. It
// has the same method set as bubbletea's ExecCommand, so an *exec.Cmd
// wrapper or a serial-console bridge fits without the engine importing
// bubbletea.
type Shell interface {
	Run() error
	SetStdin(io.Reader)
	SetStdout(io.Writer)
	SetStderr(io.Writer)
}

// Unreader is a Shell that hands back, once it has ended, the keys it read
// that its far side never took: a key pressed just as the shell exits is
// meant for the lab, not lost.
type Unreader interface {
	Unread() []byte
}

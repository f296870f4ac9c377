package vmm

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/reexec"
	"github.com/twinboot/twinboot/internal/tail"
)

// BinaryName is the VMM binary's file name beside the twinboot executable.
const BinaryName = "twinboot-vmm"

// BinaryEnv names the VMM binary, overriding the search beside the
// executable.
const BinaryEnv = "TWINBOOT_VMM"

// ErrNoResult means the VMM process ended without reporting its run.
var ErrNoResult = errors.New("the VMM process ended without a result")

// stopGrace is how long a cancelled VMM has to stop its VM and report,
// after SIGTERM, before it is killed.
const stopGrace = 5 * time.Second

// Run runs the VM cfg describes in a VMM process of its own and returns
// what hypervisor.(*VM).Run would: the Result (zero, with Reason "", when
// the VM could not even be made: hypervisor.New's error) and the error.
// Events, Console and Input are relayed; the first event is Started, which
// names the VMM process. Cancelling ctx stops the VM (the
// VMM still reports, and Run returns its Result with an error wrapping
// context.Canceled); the VMM is killed if it does not end within a few
// seconds, and it dies with this process in any case.
func Run(ctx context.Context, cfg hypervisor.Config) (hypervisor.Result, error) {
	if cfg.Start.IsZero() {
		cfg.Start = time.Now()
	}
	cmd := command()
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return hypervisor.Result{}, fmt.Errorf("vmm: %w", err)
	}
	evR, evW, err := os.Pipe()
	if err != nil {
		cfgR.Close()
		cfgW.Close()
		return hypervisor.Result{}, fmt.Errorf("vmm: %w", err)
	}
	defer evR.Close()
	cmd.ExtraFiles = []*os.File{cfgR, evW} // configFD, eventsFD
	stderr := tail.New(4 << 10)
	cmd.Stderr = stderr
	if cfg.Console != nil {
		cmd.Stdout = cfg.Console
	}
	var inW *os.File
	if f, ok := cfg.Input.(*os.File); ok {
		cmd.Stdin = f
	} else if cfg.Input != nil {
		var inR *os.File
		if inR, inW, err = os.Pipe(); err != nil {
			cfgR.Close()
			cfgW.Close()
			evW.Close()
			return hypervisor.Result{}, fmt.Errorf("vmm: %w", err)
		}
		cmd.Stdin = inR
		defer inR.Close()
	}
	// Its own process group: a terminal's Ctrl-C goes to the caller, which
	// decides (cancelling ctx) whether the VM stops.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	exited := make(chan struct{})
	var waitErr error
	err = reexec.StartPinned(cmd, func(err error) {
		waitErr = err
		close(exited)
	})
	cfgR.Close()
	evW.Close()
	if err != nil {
		cfgW.Close()
		if inW != nil {
			inW.Close()
		}
		return hypervisor.Result{}, fmt.Errorf("vmm: start %s: %w", cmd.Path, err)
	}
	if inW != nil {
		// The reader may block in Read after the VM is gone (a terminal):
		// it then ends at its next byte, on the closed pipe.
		go func() {
			io.Copy(inW, cfg.Input)
			inW.Close()
		}()
		defer inW.Close()
	}
	cfg.Events.Emit(Started{PID: cmd.Process.Pid})
	req := request{Config: cfg, StartMonoNS: monoNow() - int64(time.Since(cfg.Start)),
		Console: cfg.Console != nil, Input: cfg.Input != nil, Events: cfg.Events != nil}
	err = json.NewEncoder(cfgW).Encode(req)
	cfgW.Close()
	if err != nil {
		syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		return hypervisor.Result{}, fmt.Errorf("vmm: send the config: %w", err)
	}

	ended := make(chan *Ended, 1)
	go func() { ended <- relay(evR, cfg.Events) }()
	select {
	case <-ctx.Done():
		syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopGrace):
			syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		}
	case <-exited:
	}
	<-exited
	end := <-ended
	if end == nil {
		msg := fmt.Sprintf("%v (%v)", ErrNoResult, waitErr)
		if l := stderr.Join(5); l != "" {
			msg += ": " + l
		}
		if ctx.Err() != nil {
			return hypervisor.Result{}, fmt.Errorf("%s: %w", msg, ctx.Err())
		}
		return hypervisor.Result{}, errors.New(msg)
	}
	return end.Result, end.err()
}

// relay passes the VMM's events to sink until its Ended, which it returns
// (nil if the stream ended without one).
func relay(r io.Reader, sink event.Sink) *Ended {
	br := bufio.NewReaderSize(r, 64<<10)
	var end *Ended
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 1 {
			if ev, derr := event.Decode(line); derr == nil {
				if e, ok := ev.(Ended); ok {
					end = &e
				} else {
					sink.Emit(ev)
				}
			}
		}
		if err != nil {
			return end
		}
	}
}

// command is the VMM program: $TWINBOOT_VMM, twinboot-vmm beside the
// running executable, or the running executable re-executed as the VMM.
func command() *exec.Cmd {
	p := os.Getenv(BinaryEnv)
	if p == "" {
		p = reexec.Beside(BinaryName)
	}
	var cmd *exec.Cmd
	if p == "" {
		cmd = reexec.Self(ReexecName)
	} else {
		cmd = exec.Command(p)
		cmd.Env = os.Environ()
	}
	// No transparent huge pages for the VMM's own heap (the Go runtime's
	// disablethp setting): with THP set to "always", as in nested mode's lab
	// machine, the kernel backed its small heap with a 2 MiB page in about
	// half the runs, and the VMM overhead read 4.4 or 6.5 MiB for the same
	// work. Guest RAM keeps the host's policy: huge pages spare the guest
	// page faults, which are costly in nested mode, and it is measured
	// apart ("touched").
	cmd.Env = append(cmd.Env, "GODEBUG="+godebug(os.Getenv("GODEBUG"), "disablethp=1"))
	return cmd
}

// godebug adds setting to a GODEBUG value.
func godebug(current, setting string) string {
	if current == "" {
		return setting
	}
	return current + "," + setting
}

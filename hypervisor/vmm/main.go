package vmm

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"

	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/reexec"
)

// ReexecName is the helper name under which a twinboot executable becomes
// a VMM process (see package internal/reexec).
const ReexecName = "vmm"

func init() { reexec.Register(ReexecName, Main) }

// Main is the VMM process: it runs the one VM its parent asked for and
// returns its exit status (0 once the run has been reported, whatever the
// guest did; 1 when it could not even report).
func Main() int {
	os.Unsetenv(reexec.Env)
	// The VMM's heap is small and short-lived (console lines, events):
	// collect it early rather than let it grow to Go's default 4 MiB
	// before the first collection. This process's peak is what "VMM
	// overhead" measures.
	debug.SetGCPercent(25)
	events := os.NewFile(eventsFD, "vmm-events")
	var mu sync.Mutex
	emit := func(ev event.Event) {
		mu.Lock()
		defer mu.Unlock()
		event.Write(events, ev)
	}
	var req request
	cfgPipe := os.NewFile(configFD, "vmm-config")
	err := json.NewDecoder(cfgPipe).Decode(&req)
	cfgPipe.Close()
	if err != nil {
		emit(Ended{Err: fmt.Sprintf("vmm: read the config: %v", err)})
		return 1
	}
	cfg := req.Config
	cfg.Start = startFrom(req.StartMonoNS)
	if req.Console {
		cfg.Console = os.Stdout
	}
	if req.Input {
		cfg.Input = os.Stdin
	}
	if req.Events {
		cfg.Events = emit
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	vm, err := hypervisor.New(cfg)
	if err != nil {
		emit(Ended{Err: err.Error(), Causes: causesOf(err)})
		return 0
	}
	res, err := vm.Run(ctx)
	vm.Close()
	end := Ended{Made: true, Result: res}
	if err != nil {
		end.Err, end.Causes = err.Error(), causesOf(err)
	}
	emit(end)
	return 0
}

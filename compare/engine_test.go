package compare

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/internal/event"
)

// recorder collects events and the order in which sides were run.
type recorder struct {
	mu     sync.Mutex
	events []event.Event
	calls  []string
}

func (r *recorder) sink(ev event.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

// scripted is a runner for testing the experiment loop alone: it records the
// call and returns a side built from the index. It stands in for the VM,
// container and peers, whose own tests boot the real things.
func (r *recorder) scripted(name string, ms int, fail func(index int) bool) runner {
	return func(ctx context.Context, index, syscalls int, sink event.Sink) Side {
		r.mu.Lock()
		r.calls = append(r.calls, fmt.Sprintf("%s%d/%d", name, index, syscalls))
		r.mu.Unlock()
		if fail != nil && fail(index) {
			return Side{Name: name, Reason: "timeout", Error: "timed out"}
		}
		rel := "6.1.0-host"
		if name == "vm" {
			rel = "6.1.0-lab"
		}
		return Side{Name: name, Reason: "exited", ReadyNS: int64(ms+index) * int64(time.Millisecond),
			Exits:  map[string]uint64{"io": uint64(10 + syscalls/100)},
			Report: &report.Report{KernelRelease: rel, Syscalls: &report.SyscallBurst{Count: syscalls}}}
	}
}

func TestMeasureInterleavesAndExcludesWarmups(t *testing.T) {
	rec := &recorder{}
	s := sides{
		vm:        rec.scripted("vm", 100, nil),
		container: rec.scripted("container", 10, nil),
		peers:     []namedRunner{{PeerCrun, rec.scripted(PeerCrun, 20, nil)}},
	}
	opt := Options{Runs: 2, Warmup: 1, Syscalls: 500, Mode: "native"}
	host := Host{KernelRelease: "6.1.0-host"}
	res, err := measure(context.Background(), "bench", opt, host, s, []Peer{{Name: PeerCrun}}, rec.sink)
	if err != nil {
		t.Fatal(err)
	}
	// The baseline first (no burst), then A B A B… with peers in each pair.
	want := "vm-1/0 vm0/500 container0/500 crun0/500 vm1/500 container1/500 crun1/500 vm2/500 container2/500 crun2/500"
	if got := strings.Join(rec.calls, " "); got != want {
		t.Errorf("order:\n got %s\nwant %s", got, want)
	}
	if len(res.Runs) != 3 || !res.Runs[0].Warmup || res.Runs[1].Warmup {
		t.Fatalf("runs: %+v", res.Runs)
	}
	st := res.Stats[0]
	if st.Side != "vm" || st.Metric != MetricReady || st.N != 2 || st.Min != float64(101*time.Millisecond) {
		t.Errorf("stats exclude the warmup: %+v", st)
	}
	k := res.Runs[1].Kernel
	if k.VMSameAsHost || !k.ContainerSameAsHost || k.KernelsInRAM != 2 {
		t.Errorf("kernel facts: %+v", k)
	}
	// The scripted VM adds 5 exits per 500 calls over its baseline.
	if k.VMSyscallExits != 5 {
		t.Errorf("syscall exits %d, want 5 (%s)", k.VMSyscallExits, k.SyscallExitsMethod)
	}
	var started, done, finished, progress int
	for _, ev := range rec.events {
		switch ev.(type) {
		case RunStarted:
			started++
		case RunDone:
			done++
		case Finished:
			finished++
		case event.Progress:
			progress++
		}
	}
	if started != 3 || done != 3 || finished != 1 || progress != 3 {
		t.Errorf("events: %d started, %d done, %d finished, %d progress", started, done, finished, progress)
	}
}

func TestMeasureMarksEmulated(t *testing.T) {
	rec := &recorder{}
	withPhase := func(name string) runner {
		inner := rec.scripted(name, 10, nil)
		return func(ctx context.Context, index, syscalls int, sink event.Sink) Side {
			s := inner(ctx, index, syscalls, sink)
			s.Phases = []event.Phase{{Side: event.Side(name), Name: "READY seen", At: time.Duration(s.ReadyNS)}}
			return s
		}
	}
	s := sides{vm: withPhase("vm"), container: withPhase("container"), peers: []namedRunner{{PeerRunc, withPhase(PeerRunc)}}}
	res, err := measure(context.Background(), "run", Options{Runs: 1, Mode: "nested", Emulated: true}, Host{}, s, nil, rec.sink)
	if err != nil {
		t.Fatal(err)
	}
	r := res.Runs[0]
	for _, side := range []*Side{r.VM, r.Container, &r.Peers[0]} {
		if !side.Emulated || !side.Phases[0].Emulated {
			t.Errorf("%s not marked emulated: %+v", side.Name, side)
		}
	}
}

func TestMeasureReportsFailedSide(t *testing.T) {
	rec := &recorder{}
	s := sides{
		vm:        rec.scripted("vm", 100, func(i int) bool { return i == 1 }),
		container: rec.scripted("container", 10, nil),
	}
	res, err := measure(context.Background(), "bench", Options{Runs: 3, Syscalls: 1, Mode: "native"}, Host{}, s, nil, rec.sink)
	if !errors.Is(err, ErrSideFailed) || !strings.Contains(err.Error(), "vm (run 1): timed out") {
		t.Fatalf("err = %v", err)
	}
	if len(res.Runs) != 3 || res.Runs[1].VM.Error == "" {
		t.Fatalf("the failed run must still be in the results: %+v", res.Runs)
	}
	if st := res.Stats[0]; st.Side != "vm" || st.N != 2 {
		t.Errorf("the failed run must be left out of the statistics: %+v", st)
	}
}

func TestMeasureCanceled(t *testing.T) {
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := sides{vm: rec.scripted("vm", 1, nil), container: rec.scripted("container", 1, nil)}
	_, err := measure(ctx, "bench", Options{Runs: 2, Mode: "native"}, Host{}, s, nil, rec.sink)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	good := Options{Kernel: "k", Initrd: "i", Runs: 1}
	good.Guest.Rootfs = "r"
	for _, tc := range []struct {
		name string
		edit func(*Options)
		msg  string
	}{
		{"runs 0", func(o *Options) { o.Runs = 0 }, "runs must be 1 to 1000, got 0"},
		{"negative warmup", func(o *Options) { o.Warmup = -1 }, "warmup must be 0 to 100, got -1"},
		{"negative syscalls", func(o *Options) { o.Syscalls = -5 }, "syscalls must not be negative"},
		{"no guest", func(o *Options) { o.Guest.Rootfs = "" }, "guest not built"},
		{"bad mode", func(o *Options) { o.Mode = "turbo" }, `mode "turbo"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			tc.edit(&o)
			err := o.withDefaults().validate()
			if !errors.Is(err, ErrBadOptions) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want ErrBadOptions with %q", err, tc.msg)
			}
		})
	}
	if err := good.withDefaults().validate(); err != nil {
		t.Errorf("good options rejected: %v", err)
	}
}

func TestBenchRejectsZeroRuns(t *testing.T) {
	_, err := Bench(context.Background(), Options{Runs: 0}, nil)
	if !errors.Is(err, ErrBadOptions) {
		t.Errorf("got %v", err)
	}
}

func TestEmulatedSinkMarksPhases(t *testing.T) {
	var got []event.Event
	sink := emulatedSink(func(ev event.Event) { got = append(got, ev) }, true)
	sink.Emit(event.Phase{Side: event.Container, Name: "clone"})
	sink.Emit(event.Log{Msg: "x"})
	if p := got[0].(event.Phase); !p.Emulated {
		t.Errorf("phase not marked emulated: %+v", p)
	}
	if _, ok := got[1].(event.Log); !ok {
		t.Errorf("other events pass unchanged: %+v", got[1])
	}
	if emulatedSink(nil, true) != nil {
		t.Error("a nil sink stays nil")
	}
}

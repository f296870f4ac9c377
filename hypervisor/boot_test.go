//go:build linux && amd64

package hypervisor

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twinboot/twinboot/internal/event"
)

// bootCrafted boots a hand-made kernel through New, exactly as a real one.
func bootCrafted(t *testing.T, kernel []byte) (Result, string, []event.Event) {
	t.Helper()
	requireKVM(t)
	var out bytes.Buffer
	var evs []event.Event
	cfg := Config{
		Kernel:   writeFile(t, "kernel", kernel),
		Initrd:   writeFile(t, "initrd", []byte("INITRD")),
		Cmdline:  "crafted kernel",
		MemBytes: MinMem,
		Console:  &out,
		Events:   func(ev event.Event) { evs = append(evs, ev) },
		Timeout:  10 * time.Second,
	}
	vm, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { vm.Close() })
	res, err := vm.Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v (result %+v)", err, res)
	}
	return res, out.String(), evs
}

func TestBootProtocolBzImage(t *testing.T) {
	if elsewhere(t) {
		return
	}
	res, out, evs := bootCrafted(t, validBzImage())
	// 'c' from the command line, 'I' from the initrd, 3 e820 entries.
	if out != "cI3\n" {
		t.Errorf("console = %q, want %q", out, "cI3\n")
	}
	if res.Protocol != "bzImage" || res.Reason != ReasonPoweroff || res.Status != 0 {
		t.Errorf("protocol %s reason %s status %d, want bzImage poweroff 0", res.Protocol, res.Reason, res.Status)
	}
	checkPhases(t, res, evs)
}

func TestBootProtocolPVH(t *testing.T) {
	if elsewhere(t) {
		return
	}
	res, out, evs := bootCrafted(t, craftPVH(elfOpts{}))
	// 'x' from hvm_start_info's magic, 'c' from the command line, 'I' from
	// the initrd module, 3 memory map entries.
	if out != "xcI3\n" {
		t.Errorf("console = %q, want %q", out, "xcI3\n")
	}
	if res.Protocol != "pvh" || res.Reason != ReasonPoweroff || res.Status != 5 {
		t.Errorf("protocol %s reason %s status %d, want pvh poweroff 5", res.Protocol, res.Reason, res.Status)
	}
	checkPhases(t, res, evs)
}

// checkPhases wants the host phases in order, the same in the result and
// in the event stream; no READY (the crafted kernels print none).
func checkPhases(t *testing.T, res Result, evs []event.Event) {
	t.Helper()
	want := []string{PhaseProcessStart, PhaseVMReady, PhaseKernelLoaded, PhaseFirstRun, PhaseFirstSerial}
	var got, emitted []string
	for i, p := range res.Phases {
		got = append(got, p.Name)
		if i > 0 && p.At < res.Phases[i-1].At {
			t.Errorf("phase %q at %v before %q at %v", p.Name, p.At, res.Phases[i-1].Name, res.Phases[i-1].At)
		}
	}
	for _, ev := range evs {
		if p, ok := ev.(event.Phase); ok {
			emitted = append(emitted, p.Name)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("phases %q, want %q", got, want)
	}
	if strings.Join(emitted, ",") != strings.Join(want, ",") {
		t.Errorf("emitted phases %q, want %q", emitted, want)
	}
	if res.Memory.ConfiguredBytes != MinMem || res.Memory.TouchedBytes == 0 || res.Memory.TouchedBytes > 8<<20 {
		t.Errorf("memory %+v: want %d configured and a little touched", res.Memory, MinMem)
	}
}

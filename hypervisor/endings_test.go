//go:build linux && amd64

package hypervisor

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twinboot/twinboot/guest/report"
)

// Every way a run can end is a distinct, named reason. These guests end
// each way on purpose, in 64-bit mode, the mode a Linux kernel crashes in.

// printThen returns 64-bit code that prints msg on COM1 and then runs tail.
func printThen(msg string, tail ...byte) []byte {
	code := []byte{0x66, 0xba, 0xf8, 0x03} // mov dx, 0x3f8
	for _, c := range []byte(msg) {
		code = append(code, 0xb0, c, 0xee) // mov al, c; out dx, al
	}
	return append(code, tail...)
}

var (
	// tripleFault raises an exception with no IDT (the VMM enters with an
	// empty one): the CPU can deliver neither it nor the double fault that
	// follows, and shuts down.
	tripleFault = []byte{0x0f, 0x0b} // ud2
	spin        = []byte{0xeb, 0xfe} // jmp $   ; forever
)

const (
	byeMsg    = "bye\n"
	panicMsg  = "Kernel panic - not syncing: on purpose\n"
	rebootMsg = "reboot: Restarting system\n"
)

func TestRunEndings(t *testing.T) {
	if elsewhere(t) {
		return
	}
	for _, tc := range []struct {
		name    string
		code    []byte
		cpus    int
		timeout time.Duration
		cancel  bool
		reason  ExitReason
		err     error
	}{
		{"triple fault", printThen(byeMsg, tripleFault...), 1, 0, false, ReasonTripleFault, ErrGuestFailed},
		{"panic", printThen(panicMsg, tripleFault...), 1, 0, false, ReasonPanic, ErrGuestFailed},
		{"reboot", printThen(rebootMsg, tripleFault...), 1, 0, false, ReasonReboot, nil},
		{"timeout", spin, 1, 300 * time.Millisecond, false, ReasonTimeout, ErrTimeout},
		{"timeout with idle vCPUs", spin, 3, 300 * time.Millisecond, false, ReasonTimeout, ErrTimeout},
		{"cancelled", spin, 2, 0, true, ReasonCanceled, ErrGuestFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireKVM(t)
			var out bytes.Buffer
			cfg := Config{CPUs: tc.cpus, Console: &out, Timeout: tc.timeout}.withDefaults()
			vm, err := machine(cfg, 2<<20)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { vm.Close() })
			if err := vm.mem.write(payloadAddr, tc.code); err != nil {
				t.Fatal(err)
			}
			if err := vm.enter(entryState{mode: modeLong, rip: payloadAddr}); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tc.cancel {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				time.AfterFunc(300*time.Millisecond, cancel)
			}
			res, err := vm.Run(ctx)
			if res.Reason != tc.reason {
				t.Errorf("reason %q, want %q (detail %q, exits %v)", res.Reason, tc.reason, res.Detail, res.Exits)
			}
			switch {
			case tc.err == nil && err != nil:
				t.Errorf("err = %v, want none", err)
			case tc.err != nil && !errors.Is(err, tc.err):
				t.Errorf("err = %v, want %v", err, tc.err)
			}
			if want := map[ExitReason]string{ReasonTripleFault: byeMsg, ReasonPanic: panicMsg, ReasonReboot: rebootMsg}[tc.reason]; out.String() != want {
				t.Errorf("console %q, want %q", out.String(), want)
			}
			if tc.cancel && !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want it to wrap context.Canceled too", err)
			}
			if tc.reason == ReasonPanic && !strings.Contains(strings.Join(res.ConsoleTail, "\n"), "Kernel panic") {
				t.Errorf("console tail %q lacks the panic", res.ConsoleTail)
			}
			if res.CPUs != tc.cpus {
				t.Errorf("CPUs %d, want %d", res.CPUs, tc.cpus)
			}
		})
	}
}

// TestUARTInput feeds a byte through Config.Input; the guest enables the
// receive interrupt (input is held until a driver does: see uart.pending),
// polls the line status register until the byte arrives, echoes it, and
// exits with it as status.
func TestUARTInput(t *testing.T) {
	if elsewhere(t) {
		return
	}
	requireKVM(t)
	code := []byte{
		0xba, 0xf9, 0x03, // mov dx, 0x3f9   ; interrupt enable register
		0xb0, 0x01, //       mov al, 1        ; "data available"
		0xee,             // out dx, al
		0xba, 0xfd, 0x03, // mov dx, 0x3fd   ; line status register
		0xec,       //       in al, dx        ; wait:
		0xa8, 0x01, //       test al, 1       ; data ready?
		0x74, 0xfb, //       jz wait
		0xba, 0xf8, 0x03, // mov dx, 0x3f8
		0xec,       //       in al, dx        ; the received byte
		0xee,       //       out dx, al       ; echo it
		0xe6, 0xf4, //       out 0xf4, al     ; and exit with it
		0xf4,
	}
	var out bytes.Buffer
	cfg := Config{CPUs: 1, Console: &out, Input: strings.NewReader("Z"), Timeout: 10 * time.Second}.withDefaults()
	vm, err := machine(cfg, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vm.Close() })
	if err := vm.mem.write(payloadAddr, code); err != nil {
		t.Fatal(err)
	}
	if err := vm.enter(entryState{mode: modeReal, rip: payloadAddr}); err != nil {
		t.Fatal(err)
	}
	res, err := vm.Run(context.Background())
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if out.String() != "Z" || res.Status != 'Z' {
		t.Errorf("console %q status %d, want %q and %d", out.String(), res.Status, "Z", 'Z')
	}
}

// TestCloseDuringRun closes a VM whose guest spins forever: Close must stop
// it, wait for Run to return, and leave no descriptor behind.
func TestCloseDuringRun(t *testing.T) {
	if elsewhere(t) {
		return
	}
	fds := kvmFDs(t)
	cfg := Config{CPUs: 2}.withDefaults()
	vm, err := machine(cfg, 2<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vm.Close() })
	if err := vm.mem.write(payloadAddr, spin); err != nil {
		t.Fatal(err)
	}
	if err := vm.enter(entryState{mode: modeLong, rip: payloadAddr}); err != nil {
		t.Fatal(err)
	}
	done := make(chan Result)
	go func() {
		res, _ := vm.Run(context.Background())
		done <- res
	}()
	time.Sleep(200 * time.Millisecond)
	if err := vm.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case res := <-done:
		if res.Reason != ReasonCanceled {
			t.Errorf("reason %q, want %q", res.Reason, ReasonCanceled)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Close")
	}
	if got := kvmFDs(t); got != fds {
		t.Errorf("%d KVM descriptors after Close, %d before", got, fds)
	}
	if _, err := vm.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v, want ErrClosed", err)
	}
}

// TestReadyCutByExitPort: a guest that powers off in the middle of its READY
// line gets a clean poweroff, no report, and a detail that says why.
func TestReadyCutByExitPort(t *testing.T) {
	if elsewhere(t) {
		return
	}
	cfg := Config{CPUs: 1}.withDefaults()
	vm, err := machine(cfg, 2<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vm.Close() })
	code := printThen(report.Prefix+`{"mode":`, 0xb0, 0, 0xe6, 0xf4) // mov al, 0; out 0xf4, al
	if err := vm.mem.write(payloadAddr, code); err != nil {
		t.Fatal(err)
	}
	if err := vm.enter(entryState{mode: modeLong, rip: payloadAddr}); err != nil {
		t.Fatal(err)
	}
	res, err := vm.Run(context.Background())
	if err != nil || res.Reason != ReasonPoweroff || res.Report != nil {
		t.Fatalf("reason %s, report %v, err %v: want a clean poweroff without a report", res.Reason, res.Report, err)
	}
	if !strings.Contains(res.Detail, "tcdrain") {
		t.Errorf("detail %q does not explain the cut READY line", res.Detail)
	}
}

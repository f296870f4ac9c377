//go:build linux && amd64

package hypervisor

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// Tiny guests, assembled by hand. Each proves one layer of the VMM exactly:
// the bytes that reach the console, the exit status and the exit counts are
// all known in advance.

// realModePayload runs in the 16-bit mode a PC starts in: no GDT, no paging.
var realModePayload = []byte{
	0xba, 0xf8, 0x03, // mov dx, 0x3f8      ; COM1 data register
	0xb0, 'H', //        mov al, 'H'
	0xee,      //       out dx, al         ; exit 1: UART
	0xb0, 'i', //        mov al, 'i'
	0xee,       //       out dx, al         ; exit 2
	0xb0, '\n', //       mov al, '\n'
	0xee,     //       out dx, al         ; exit 3
	0xb0, 42, //         mov al, 42
	0xe6, 0xf4, //       out 0xf4, al       ; exit 4: exit port, status 42
	0xf4, //             hlt                ; never reached
}

// longModePayload needs 64-bit mode with our GDT and page tables: it reads
// guest memory the host wrote, writes and reads back memory through the
// second 2 MiB page, prints a register the VMM set, and uses a 64-bit
// immediate that only decodes correctly in long mode.
var longModePayload = []byte{
	0x66, 0xba, 0xf8, 0x03, // mov dx, 0x3f8
	0x8a, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, // mov al, [0x200000]   ; host put 'L' there
	0xee,                                          // out dx, al           ; "L"
	0xc6, 0x04, 0x25, 0x00, 0xf0, 0x3f, 0x00, 'M', // mov byte [0x3ff000], 'M'
	0x8a, 0x04, 0x25, 0x00, 0xf0, 0x3f, 0x00, // mov al, [0x3ff000]
	0xee,       // out dx, al                   ; "M"
	0x89, 0xf0, // mov eax, esi                 ; RSI was set by the VMM to 'R'
	0xee,                                 // out dx, al                   ; "R"
	0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, '6', // movabs rax, '6'<<56
	0x48, 0xc1, 0xe8, 0x38, // shr rax, 56
	0xee,       // out dx, al                   ; "6"
	0xb0, '\n', // mov al, '\n'
	0xee,    // out dx, al
	0xb0, 7, // mov al, 7
	0xe6, 0xf4, // out 0xf4, al                 ; status 7
	0xf4, // hlt
}

const payloadAddr = 0x1000

type payloadRun struct {
	mode    cpuMode
	code    []byte
	mem     uint64
	prepare func(t *testing.T, vm *VM)
	rsi     uint64
}

func runPayload(t *testing.T, p payloadRun) (Result, string) {
	t.Helper()
	requireKVM(t)
	var out bytes.Buffer
	cfg := Config{CPUs: 1, Console: &out, Timeout: 10 * time.Second}.withDefaults()
	vm, err := machine(cfg, p.mem)
	if err != nil {
		t.Fatalf("create machine: %v", err)
	}
	t.Cleanup(func() { vm.Close() })
	if err := vm.mem.write(payloadAddr, p.code); err != nil {
		t.Fatal(err)
	}
	if p.prepare != nil {
		p.prepare(t, vm)
	}
	if err := vm.enter(entryState{mode: p.mode, rip: payloadAddr, rsi: p.rsi}); err != nil {
		t.Fatalf("enter %v mode: %v", p.mode, err)
	}
	res, err := vm.Run(context.Background())
	if err != nil {
		t.Fatalf("run: %v (result %+v)", err, res)
	}
	return res, out.String()
}

func TestRealModePayload(t *testing.T) {
	if elsewhere(t) {
		return
	}
	res, out := runPayload(t, payloadRun{mode: modeReal, code: realModePayload, mem: 1 << 20})
	if out != "Hi\n" {
		t.Errorf("console = %q, want %q", out, "Hi\n")
	}
	if res.Reason != ReasonPoweroff || res.Status != 42 {
		t.Errorf("reason %s status %d, want poweroff 42", res.Reason, res.Status)
	}
	if res.Exits["io"] != 4 || res.IOPorts[0x3f8] != 3 || res.IOPorts[0xf4] != 1 {
		t.Errorf("exits %v ports %v, want 4 io exits: 3 on 0x3f8, 1 on 0xf4", res.Exits, res.IOPorts)
	}
}

func TestLongModePayload(t *testing.T) {
	if elsewhere(t) {
		return
	}
	res, out := runPayload(t, payloadRun{
		mode: modeLong, code: longModePayload, mem: 4 << 20, rsi: 'R',
		prepare: func(t *testing.T, vm *VM) {
			if err := vm.mem.write(0x200000, []byte{'L'}); err != nil {
				t.Fatal(err)
			}
		},
	})
	if out != "LMR6\n" {
		t.Errorf("console = %q, want %q", out, "LMR6\n")
	}
	if res.Reason != ReasonPoweroff || res.Status != 7 {
		t.Errorf("reason %s status %d, want poweroff 7", res.Reason, res.Status)
	}
	if res.Exits["io"] != 6 || res.IOPorts[0x3f8] != 5 || res.IOPorts[0xf4] != 1 {
		t.Errorf("exits %v ports %v, want 6 io exits: 5 on 0x3f8, 1 on 0xf4", res.Exits, res.IOPorts)
	}
}

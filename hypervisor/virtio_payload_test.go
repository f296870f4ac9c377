//go:build linux && amd64

package hypervisor

import "testing"

// mmioPayload drives a virtio-mmio window from a hand-assembled 64-bit
// guest: it reads the magic and version registers (two MMIO exits the VMM
// answers) and prints them, then writes QueueNotify (an ioeventfd signal
// where KVM has them, else a third exit). It runs on any KVM, kvm_pvm too.
var mmioPayload = []byte{
	0x66, 0xba, 0xf8, 0x03, // mov dx, 0x3f8
	0xbb, 0x00, 0x00, 0x00, 0xd0, // mov ebx, 0xd0000000 (zero-extended into rbx)
	0x8b, 0x03, // mov eax, [rbx]        ; MagicValue "virt": al = 'v'
	0xee,             // out dx, al
	0x8b, 0x43, 0x04, // mov eax, [rbx+4]    ; Version: 2
	0x04, '0', // add al, '0'
	0xee,                                     // out dx, al
	0xc7, 0x43, 0x50, 0x00, 0x00, 0x00, 0x00, // mov dword [rbx+0x50], 0 ; QueueNotify
	0xb0, '\n', // mov al, '\n'
	0xee,    // out dx, al
	0xb0, 0, // mov al, 0
	0xe6, 0xf4, // out 0xf4, al
	0xf4, // hlt
}

func TestMMIOPayload(t *testing.T) {
	if elsewhere(t) {
		return
	}
	img := writeFile(t, "disk.img", make([]byte, 4096))
	res, out := runPayload(t, payloadRun{
		mode: modeLong, code: mmioPayload, mem: 4 << 20,
		prepare: func(t *testing.T, vm *VM) {
			b, err := openBackends(Config{Disks: []Disk{{Path: img}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := vm.attachDevices(b); err != nil {
				t.Fatal(err)
			}
		},
	})
	if out != "v2\n" {
		t.Errorf("console = %q, want %q", out, "v2\n")
	}
	if len(res.Devices) != 1 {
		t.Fatalf("devices %+v", res.Devices)
	}
	d := res.Devices[0]
	want := uint64(2) // the two reads
	if !d.IOEventFD {
		want++ // the notify came as an exit too
	}
	if d.MMIOExits != want || res.Exits["mmio"] != want {
		t.Errorf("device saw %d MMIO exits, the run loop %d; want %d (ioeventfd %v)", d.MMIOExits, res.Exits["mmio"], want, d.IOEventFD)
	}
	t.Logf("ioeventfd %v, irqfd %v, exits %v", d.IOEventFD, d.IRQFD, res.Exits)
}

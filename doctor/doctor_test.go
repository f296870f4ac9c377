package doctor

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/nested"
)

func TestInspect(t *testing.T) {
	r, err := Inspect(context.Background(), host.ModeAuto)
	if err != nil {
		t.Fatal(err)
	}
	if r.Mode.Mode != host.ModeNative && r.Mode.Mode != host.ModeNested || r.Mode.Reason == "" {
		t.Errorf("mode %+v", r.Mode)
	}
	if r.Mode.Mode == host.ModeNative && !r.KVM.HardwareBacked && !r.InsideL1 {
		t.Errorf("auto chose native without hardware KVM: %+v", r.KVM)
	}
	if len(r.Tools) != len(tools) {
		t.Errorf("tools %+v", r.Tools)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/dev/kvm", "cgroup", "mode", r.Mode.Mode} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, b.String())
		}
	}
	if _, err := Inspect(context.Background(), "sideways"); !errors.Is(err, host.ErrBadMode) {
		t.Errorf("bad mode: %v", err)
	}
}

func TestProblems(t *testing.T) {
	noQEMU := Report{
		Root:  true,
		Mode:  host.Decision{Mode: host.ModeNested},
		Guest: Guest{Built: true},
		Tools: []Tool{{Name: "qemu-system-x86_64", Package: nested.DebianQEMU}},
	}
	p := strings.Join(problems(noQEMU), "\n")
	if !strings.Contains(p, "qemu-system-x86") {
		t.Errorf("nested without QEMU: problems %q do not name the package", p)
	}
	nativePVM := Report{
		Root:  true,
		KVM:   host.KVMInfo{Present: true, Usable: true, Flavour: host.FlavourPVM, Detail: "kvm_pvm"},
		Mode:  host.Decision{Mode: host.ModeNative},
		Guest: Guest{Built: true},
	}
	if p := problems(nativePVM); len(p) != 1 || !strings.Contains(p[0], "kvm_pvm") {
		t.Errorf("native on kvm_pvm: problems %q", p)
	}
	fine := Report{
		Root:  true,
		KVM:   host.KVMInfo{Present: true, Usable: true, Flavour: host.FlavourSVM, HardwareBacked: true},
		Mode:  host.Decision{Mode: host.ModeNative},
		Guest: Guest{Built: true},
	}
	if p := problems(fine); len(p) != 0 {
		t.Errorf("healthy host: problems %q", p)
	}
}

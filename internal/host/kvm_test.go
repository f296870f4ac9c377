package host

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fakeHost builds a root with the given modules (and their parameters) and,
// when kvm is true, a /dev/kvm that is a link to /dev/null: a character
// device any test can open.
func fakeHost(t *testing.T, kvm bool, cpuFlags string, modules map[string]map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for m, params := range modules {
		dir := filepath.Join(root, "sys/module", m, "parameters")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for p, v := range params {
			if err := os.WriteFile(filepath.Join(dir, p), []byte(v+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	if kvm {
		if err := os.Symlink("/dev/null", filepath.Join(root, "dev/kvm")); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(root, "proc"), 0o755)
	cpuinfo := "processor\t: 0\nflags\t\t: fpu sse2 " + cpuFlags + "\n"
	if err := os.WriteFile(filepath.Join(root, "proc/cpuinfo"), []byte(cpuinfo), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestInspectKVM(t *testing.T) {
	for _, tc := range []struct {
		name     string
		kvm      bool
		flags    string
		modules  map[string]map[string]string
		flavour  string
		hardware bool
		npt      bool
	}{
		{"no kvm", false, "", nil, FlavourNone, false, false},
		// Issue 19: the module loaded, no device node (these machines on
		// 2026-12-02). Every command must say "none", not "kvm_pvm".
		{"pvm module without a device", false, "", map[string]map[string]string{"kvm": nil, "kvm_pvm": nil}, FlavourNone, false, false},
		{"pvm", true, "", map[string]map[string]string{"kvm": nil, "kvm_pvm": nil}, FlavourPVM, false, false},
		{"intel", true, "vmx", map[string]map[string]string{"kvm": nil, "kvm_intel": {"ept": "Y", "nested": "N"}}, FlavourVMX, true, true},
		{"amd", true, "svm", map[string]map[string]string{"kvm": nil, "kvm_amd": {"npt": "1", "nested": "1"}}, FlavourSVM, true, true},
		{"device without module", true, "", map[string]map[string]string{"kvm": nil}, FlavourOther, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := sysRoot
			sysRoot = fakeHost(t, tc.kvm, tc.flags, tc.modules)
			t.Cleanup(func() { sysRoot = old })
			k := InspectKVM()
			if k.Flavour != tc.flavour || k.HardwareBacked != tc.hardware || k.NestedPaging != tc.npt || k.Present != tc.kvm {
				t.Errorf("got %+v", k)
			}
			if k.CPUFlag != tc.flags {
				t.Errorf("cpu flag %q, want %q", k.CPUFlag, tc.flags)
			}
			if tc.kvm && !k.Usable {
				t.Errorf("/dev/kvm (a link to /dev/null) should be usable: %+v", k)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	hw := KVMInfo{Present: true, Usable: true, Flavour: FlavourVMX, HardwareBacked: true, Detail: "vmx"}
	pvm := KVMInfo{Present: true, Usable: true, Flavour: FlavourPVM, Detail: "pvm"}
	none := KVMInfo{Flavour: FlavourNone, Detail: "none"}
	for _, tc := range []struct {
		mode   string
		kvm    KVMInfo
		inside bool
		want   string
	}{
		{"auto", hw, false, ModeNative},
		{"", hw, false, ModeNative},
		{"auto", pvm, false, ModeNested},
		{"auto", none, false, ModeNested},
		{"native", pvm, false, ModeNative},
		{"nested", hw, false, ModeNested},
		{"nested", hw, true, ModeNative}, // no third level
		{"auto", hw, true, ModeNative},
	} {
		d, err := decide(tc.mode, tc.kvm, tc.inside)
		if err != nil {
			t.Fatalf("decide(%q): %v", tc.mode, err)
		}
		if d.Mode != tc.want || d.Reason == "" {
			t.Errorf("decide(%q, %s, inside=%v) = %+v, want %s with a reason", tc.mode, tc.kvm.Flavour, tc.inside, d, tc.want)
		}
	}
	if _, err := decide("hardware", hw, false); !errors.Is(err, ErrBadMode) {
		t.Errorf("bad mode: err = %v, want ErrBadMode", err)
	}
}

func TestInspectCgroup(t *testing.T) {
	c := InspectCgroup("/sys/fs/cgroup")
	switch c.Version {
	case CgroupV1, CgroupV2, CgroupHybrid:
	default:
		t.Errorf("host cgroup layout %+v, want v1, v2 or hybrid", c)
	}
	if c := InspectCgroup(t.TempDir()); c.Version != CgroupNone {
		t.Errorf("a plain directory is %+v, want none", c)
	}
}

package nested

import (
	"reflect"
	"testing"
)

func TestParseLdd(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      []string
		err       bool
	}{
		{
			name: "dynamic",
			out: "\tlinux-vdso.so.1 (0x00007ffd)\n" +
				"\tlibseccomp.so.2 => /lib/x86_64-linux-gnu/libseccomp.so.2 (0x00007f3b)\n" +
				"\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f3a)\n" +
				"\t/lib64/ld-linux-x86-64.so.2 (0x00007f3c)\n",
			want: []string{"/lib/x86_64-linux-gnu/libseccomp.so.2", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"},
		},
		{name: "static", out: "\tstatically linked\n"},
		{name: "missing library", out: "\tlibyajl.so.2 => not found\n", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseLdd([]byte(tc.out))
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParentDirs(t *testing.T) {
	got := parentDirs([]string{"/usr/share/qemu/pvh.bin", "/lib/x86_64-linux-gnu/libc.so.6", "/usr/bin/crun", "/lib64/ld.so"},
		map[string]bool{"/lib": true})
	want := []string{"/lib64", "/usr", "/lib/x86_64-linux-gnu", "/usr/bin", "/usr/share", "/usr/share/qemu"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A kernel cached before overlay, tun and the lab network's modules
// joined l1Modules lacks them, and only them.
func TestMissingModules(t *testing.T) {
	old := Kernel{Modules: []string{"/c/irqbypass.ko", "/c/kvm.ko", "/c/ccp.ko", "/c/kvm-amd.ko"}}
	if got := missingModules(old); !reflect.DeepEqual(got, []string{"overlay", "tun", "llc", "stp", "bridge", "veth"}) {
		t.Errorf("old cache: missing %q, want [overlay tun llc stp bridge veth]", got)
	}
	full := Kernel{Modules: append(old.Modules, "/c/overlay.ko", "/c/tun.ko", "/c/llc.ko", "/c/stp.ko", "/c/bridge.ko", "/c/veth.ko")}
	if got := missingModules(full); len(got) != 0 {
		t.Errorf("full cache: missing %q", got)
	}
}

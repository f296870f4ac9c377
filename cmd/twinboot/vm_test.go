package main

import "testing"

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"128M", 128 << 20, true},
		{"128m", 128 << 20, true},
		{"1G", 1 << 30, true},
		{"65536K", 64 << 20, true},
		{"33554432", 32 << 20, true},
		{" 64M ", 64 << 20, true},
		{"", 0, false},
		{"0", 0, false},
		{"M", 0, false},
		{"12X", 0, false},
		{"-1M", 0, false},
		{"99999999999999999999G", 0, false},
		{"17179869184G", 0, false}, // overflows uint64 bytes
	} {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// --disk flags keep their order and options, and survive the trip through
// the rebuilt command line that carries a command into L1.
func TestDiskFlags(t *testing.T) {
	var d diskFlags
	for _, v := range []string{"a.img", "b.img,ro"} {
		if err := d.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	var again diskFlags
	if err := again.Set(d.String()); err != nil || len(again) != 2 || again[0].Path != "a.img" || again[0].ReadOnly || !again[1].ReadOnly {
		t.Errorf("round trip of %q: %+v, %v", d.String(), again, err)
	}
	for _, bad := range []string{"", ",ro", "c.img,rw"} {
		var x diskFlags
		if err := x.Set(bad); err == nil {
			t.Errorf("--disk %q accepted", bad)
		}
	}
	files := d.intoL1()
	if len(files) != 2 || files[1].Src != "b.img" || d[1].Path != files[1].Dst || !d[1].ReadOnly {
		t.Errorf("into L1: %+v, flags %+v", files, d)
	}
}

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

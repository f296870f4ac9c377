package nested

import (
	"errors"
	"testing"
)

func TestParseDepends(t *testing.T) {
	for _, tc := range []struct {
		out, want string
		ok        bool
	}{
		{"linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n", "linux-image-6.1.0-56-amd64", true},
		{"linux-image-amd64\n |Depends: linux-image-6.1.0-57-amd64\n  Depends: linux-image-6.1.0-56-amd64\n", "linux-image-6.1.0-57-amd64", true},
		{"linux-image-amd64\n  Depends: kmod\n", "", false},
		{"", "", false},
	} {
		got, err := parseDepends([]byte(tc.out))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseDepends(%q) = %q, %v; want %q", tc.out, got, err, tc.want)
		}
		if err != nil && !errors.Is(err, ErrNoKernel) {
			t.Errorf("error %v is not ErrNoKernel", err)
		}
	}
}

func TestParseField(t *testing.T) {
	v, err := parseField([]byte("Package: x\nVersion: 6.1.192-2\nSize: 1\n"), "Version")
	if err != nil || v != "6.1.192-2" {
		t.Fatalf("got %q, %v", v, err)
	}
	if _, err := parseField([]byte("Package: x\n"), "Version"); err == nil {
		t.Fatal("want an error without a Version field")
	}
}

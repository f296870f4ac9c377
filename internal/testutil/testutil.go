package testutil

import (
	"errors"
	"os"
	"testing"

	"github.com/twinboot/twinboot/guest"
)

// Required reports whether tests must fail, rather than skip, when something
// they need is missing. `make test` sets TWINBOOT_REQUIRE=1, because it builds
// everything first; a bare `go test` on a fresh clone skips with the reason.
func Required() bool { return os.Getenv("TWINBOOT_REQUIRE") == "1" }

// Missing skips the test, or fails it under `make test`, explaining what is
// missing and how to get it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf("missing: "+format, args...)
	}
	t.Skipf("missing: "+format, args...)
}

// Guest returns the built guest artefacts, or skips/fails through Missing.
func Guest(t testing.TB) guest.Artifacts {
	t.Helper()
	a, err := guest.Load(guest.BuildDir())
	if errors.Is(err, guest.ErrNotBuilt) {
		Missing(t, "%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Root skips the test, or fails it under `make test`, when not running as root.
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "this test needs root")
	}
}

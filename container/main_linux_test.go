package container

import (
	"os"
	"testing"
)

// TestMain lets the test binary serve as the container init: Run re-executes
// /proc/self/exe, which here is this binary.
func TestMain(m *testing.M) {
	MaybeInit()
	leakParent()
	code := m.Run()
	removeBuiltInit()
	os.Exit(code)
}

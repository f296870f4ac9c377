//go:build linux && amd64

package hypervisor

import (
	"os"
	"testing"

	"github.com/twinboot/twinboot/internal/testutil"
	"github.com/twinboot/twinboot/nested/nestedtest"
)

// The tiny guests of these tests need nothing but a KVM device. They run on
// hardware KVM and on kvm_pvm alike (proven on kvm_pvm, which cannot run a
// Linux kernel but does run them, in real and long mode). Only where there
// is no /dev/kvm at all does a test re-run itself inside nested mode's L1.

// elsewhere returns true when the test has been run inside L1 instead of
// here; the caller must then return at once.
func elsewhere(t *testing.T) bool {
	t.Helper()
	if _, err := os.Stat(DefaultDevice); err == nil {
		return false
	}
	if nestedtest.Redirect(t) {
		return true
	}
	testutil.Missing(t, "%s is missing and nested mode is not available", DefaultDevice)
	return true
}

func requireKVM(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(DefaultDevice); err != nil {
		testutil.Missing(t, "%s: %v", DefaultDevice, err)
	}
}

package hypervisor

import (
	"errors"
	"os"
	"testing"

	"github.com/twinboot/twinboot/internal/testutil"
)

func requireKVM(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(DefaultDevice); err != nil {
		testutil.Missing(t, "%s: %v", DefaultDevice, err)
	}
}

func skipIfPVMCannot(t *testing.T, res Result, err error) {
	t.Helper()
	if err != nil {
		t.Logf("result: reason=%s detail=%s exits=%v", res.Reason, res.Detail, res.Exits)
	}
	_ = errors.Is
}

package compare

import (
	"os"
	"testing"

	"github.com/twinboot/twinboot/container"
)

// The container runtime re-executes this test binary as the container's
// init; MaybeInit takes over in that case and never returns.
func TestMain(m *testing.M) {
	container.MaybeInit()
	os.Exit(m.Run())
}

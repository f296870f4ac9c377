package hypervisor_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/testutil"
	"github.com/twinboot/twinboot/nested/nestedtest"
)

// TestPipedScriptReachesShell: a script handed to the VM before it boots
// (`printf … | twinboot vm --stdin`) reaches the guest's shell whole. The
// 8250 driver's probe and start-up read and flush the receiver; input that
// went into the UART at once lost its first bytes there ("echo marker" ran
// as "o marker"). In L1 where this host's KVM cannot run Linux.
func TestPipedScriptReachesShell(t *testing.T) {
	if nestedtest.Redirect(t) {
		return
	}
	a := testutil.Guest(t)
	var console bytes.Buffer
	cmdline := strings.Replace(hypervisor.DefaultCmdline, "twinboot.mode=poweroff", "twinboot.mode=shell", 1)
	vm, err := hypervisor.New(hypervisor.Config{
		Kernel: a.BzImage, Initrd: a.Initramfs, Cmdline: cmdline, Console: &console, MemBytes: 128 << 20, CPUs: 1,
		Input:   strings.NewReader("echo marker-$((6*7))\nexit 5\n"),
		Timeout: 2 * time.Minute, Emulated: host.InsideL1(),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { vm.Close() })
	res, err := vm.Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v\nconsole:\n%s", err, console.String())
	}
	if !strings.Contains(console.String(), "\nmarker-42") {
		t.Errorf("the shell did not run the script whole; console:\n%s", console.String())
	}
	if res.Reason != hypervisor.ReasonPoweroff || res.Status != 5 {
		t.Errorf("reason %s status %d, want poweroff with the shell's status 5", res.Reason, res.Status)
	}
}

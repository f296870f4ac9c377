package vmm

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twinboot/twinboot/hypervisor"
)

// An error crosses from the VMM process as text and names; errors.Is still
// recognises every sentinel it wrapped.
func TestErrorsCrossTheProcess(t *testing.T) {
	orig := fmt.Errorf("%w: canceled: %w", hypervisor.ErrGuestFailed, context.Canceled)
	e := Ended{Err: orig.Error(), Causes: causesOf(orig)}
	got := e.err()
	if got.Error() != orig.Error() || !errors.Is(got, hypervisor.ErrGuestFailed) || !errors.Is(got, context.Canceled) {
		t.Errorf("rebuilt %v (causes %q)", got, e.Causes)
	}
	if errors.Is(got, hypervisor.ErrTimeout) {
		t.Error("rebuilt error claims a timeout")
	}
	if (Ended{}).err() != nil {
		t.Error("no error became one")
	}
}

// The start instant crosses as CLOCK_MONOTONIC: one second before now on
// that clock is one second before now on this process's.
func TestStartCrossesTheProcess(t *testing.T) {
	got := time.Since(startFrom(monoNow() - int64(time.Second)))
	if got < time.Second || got > time.Second+50*time.Millisecond {
		t.Errorf("a start 1 s ago came back %v ago", got)
	}
}

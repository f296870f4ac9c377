package compare

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/testutil"
	"github.com/twinboot/twinboot/nested/nestedtest"
	"github.com/twinboot/twinboot/network"
)

// Both sides on one lab network, in L1 on hosts without hardware KVM: each
// side's own report (fetched by the lab host over the network) shows the
// hostname and eth0 address the network gave it, all four paths of the
// matrix carry round trips and a stream (VM → container and container →
// VM find each other by name, through /etc/hosts), the VM's NIC moved the
// frames, and the network is gone afterwards, the host's (here L1's)
// namespace as it was.
func TestRunNetBothSides(t *testing.T) {
	if nestedtest.Redirect(t) {
		return
	}
	testutil.Root(t)
	a := testutil.Guest(t)
	before := testutil.NetSnapshot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	o := NetOptions{Options: Options{Guest: a, VMMemBytes: DefaultVMMem, VMCPUs: 1, Timeout: 3 * time.Minute},
		Pings: 20, StreamBytes: 1 << 20}
	res, err := RunNet(ctx, o, func(ev event.Event) { t.Logf("%+v", ev) })
	if err != nil {
		t.Fatalf("RunNet: %v\n%+v", err, res)
	}
	want := map[string]string{NodeVM: VMHostname, NodeContainer: ContainerHostname}
	for _, s := range res.Sides {
		if s.SeenHostname != want[s.Side] || !slices.Contains(s.SeenAddrs, s.Addr) {
			t.Errorf("%s: its report says hostname %q, eth0 %v; the network gave %s, %s", s.Side, s.SeenHostname, s.SeenAddrs, want[s.Side], s.Addr)
		}
	}
	if len(res.Paths) != 4 {
		t.Errorf("%d paths, want 4: %+v", len(res.Paths), res.Paths)
	}
	for _, p := range res.Paths {
		if !p.OK || p.RoundTrips != 20 || p.StreamBytes != 1<<20 || p.RTTP50us <= 0 || p.StreamMBps <= 0 {
			t.Errorf("path %s → %s: %+v", p.From, p.To, p)
		}
	}
	// The VM sent two streams (to the lab host and to the container) and
	// received one (from the container).
	if n := res.VMNet; n == nil || n.BytesWrite < 2<<20 || n.BytesRead < 1<<20 {
		t.Errorf("the VM's NIC: %+v, want two streams out and one in", res.VMNet)
	}
	if _, err := os.Stat(filepath.Join(network.StateRoot, res.Network)); !os.IsNotExist(err) {
		t.Errorf("network %s left behind (%v)", res.Network, err)
	}
	if after := testutil.NetSnapshot(t); !slices.Equal(before, after) {
		t.Errorf("the host's network namespace changed:\nbefore %q\nafter  %q", before, after)
	}
}

package compare

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/testutil"
	"github.com/twinboot/twinboot/nested"
	"github.com/twinboot/twinboot/nested/nestedtest"
)

// The lab network benchmark measures our VM, our container and the QEMU
// peer (virtio-net on a TAP of the same network) from the lab host, says
// what a frame cost the VM in exits, and writes its CSV and charts. In L1
// (with QEMU copied in) on hosts without hardware KVM. Only the presence of
// the figures is checked: their values are the benchmark's to report.
func TestBenchNet(t *testing.T) {
	if nestedtest.NeedsL1() {
		opt := nestedtest.Options(t)
		opt.Peers = true // QEMU
		opt.Extra = []nested.File{{Src: nestedtest.TestBinary(t), Dst: "/extra/test.bin"}}
		s := nestedtest.Boot(t, opt)
		res := s.Exec(t, nested.Job{Path: "/extra/test.bin", Args: []string{"-test.run", "^TestBenchNet$", "-test.v", "-test.count=1"},
			Env: []string{"TWINBOOT_REQUIRE=" + os.Getenv("TWINBOOT_REQUIRE")}})
		for _, l := range strings.Split(strings.TrimRight(res.Stdout+res.Stderr, "\n"), "\n") {
			t.Log("L1: " + l)
		}
		switch {
		case res.Code != 0:
			t.Fatalf("TestBenchNet failed in L1 (exit status %d)", res.Code)
		case strings.Contains(res.Stdout, "--- SKIP: TestBenchNet"):
			t.Skip("skipped in L1")
		case !strings.Contains(res.Stdout, "--- PASS: TestBenchNet"):
			t.Fatal("TestBenchNet did not run in L1")
		}
		return
	}
	testutil.Root(t)
	a := testutil.Guest(t)
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		testutil.Missing(t, "QEMU for the peer: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	o := NetBenchOptions{Runs: 2, NetOptions: NetOptions{
		Options: Options{Guest: a, VMMemBytes: DefaultVMMem, VMCPUs: 1, Timeout: 4 * time.Minute, Emulated: host.InsideL1()},
		Pings:   20, StreamBytes: 1 << 20,
	}}
	res, err := BenchNet(ctx, o, func(ev event.Event) {
		if l, ok := ev.(event.Log); ok {
			t.Log(l.Msg)
		}
	})
	if err != nil {
		t.Fatalf("BenchNet: %v\n%+v", err, res)
	}
	got := map[string]NetTarget{}
	for _, tg := range res.Targets {
		got[tg.Target] = tg
	}
	for _, name := range []string{NodeVM, NodeContainer, NodeQEMU} {
		tg, ok := got[name]
		if !ok || tg.Skipped != "" || len(tg.Runs) != 2 || tg.RTTP50.N != 2 || tg.Stream.Median <= 0 {
			t.Errorf("%s: %+v", name, tg)
		}
	}
	if c := got[NodeVM].VM; c == nil || c.Frames == 0 || c.ExitsPerFrame <= 0 || c.NICMMIOExitsPerFrame <= 0 {
		t.Errorf("the VM's cost per frame: %+v", got[NodeVM].VM)
	}
	var buf bytes.Buffer
	if err := WriteNetBenchCSV(&buf, res); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 1+3*2 || strings.Join(rows[0], ",") != strings.Join(NetBenchCSVHeader, ",") {
		t.Errorf("CSV: %d rows, %v:\n%s", len(rows), err, buf.String())
	}
	dir := t.TempDir()
	files, err := NetBenchCharts(res, dir, []string{"svg", "png"})
	if err != nil || len(files) != 4 {
		t.Fatalf("charts: %v, %v", files, err)
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 || filepath.Dir(f) != dir {
			t.Errorf("chart %s: %v", f, err)
		}
	}
}

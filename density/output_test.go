package density

import (
	"bytes"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twinboot/twinboot/compare"
)

func sampleResults() Results {
	flat := func(int) int64 { return 25e6 }
	r := Results{Schema: Schema, Created: time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC), Mode: "nested", Emulated: true,
		Host:  compare.Host{Hostname: "l1", KernelRelease: "6.1.0", CPUs: 1, MemTotalKB: 1 << 20},
		Steps: stepsFor([]int{1, 2, 4}, 1<<20, 1<<20, 20<<20, 3<<20, flat)}
	r.Steps[2].Container.Failed = 1
	r.Steps[2].Container.Instances = []Instance{{Index: 3, Error: "executable not found in the rootfs"}}
	r.Fit = fitSteps(r.Steps)
	r.Goals = judge(r)
	return r
}

func TestJSONRoundTrip(t *testing.T) {
	r := sampleResults()
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	if !IsResults(b.Bytes()) {
		t.Fatal("IsResults does not recognise a density document")
	}
	got, err := DecodeResults(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("round trip changed the results:\n got %+v\nwant %+v", got, r)
	}
	if _, err := DecodeResults(strings.NewReader(`{"schema":"twinboot/v1"}`)); !errors.Is(err, compare.ErrUnknownSchema) {
		t.Errorf("a compare document decoded as density results: %v", err)
	}
	if IsResults([]byte(`{"schema":"twinboot/v1"}`)) {
		t.Error("IsResults took a compare document")
	}
}

func TestCSVOneRowPerStepAndKind(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, sampleResults()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+3*2 || !reflect.DeepEqual(rows[0], CSVHeader) {
		t.Fatalf("csv: %d rows, header %v", len(rows), rows[0])
	}
	if rows[1][1] != "container" || rows[2][1] != "vm" || rows[6][2] != "4" {
		t.Errorf("csv rows: %v", rows[1:])
	}
}

func TestTableIsReadable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, sampleResults()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"emulated", "containers", "VMs", "all READY", "per instance", "One more instance costs",
		GoalContainerMemory, GoalVMMemory, "not measured", "failed: step 3, container 3: executable not found"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
}

func TestChartsDrawBothKinds(t *testing.T) {
	dir := t.TempDir()
	files, err := Charts(sampleResults(), dir, []string{"svg", "png"})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Fatalf("files: %v", files)
	}
	svg, err := os.ReadFile(filepath.Join(dir, ChartMemory+".svg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Memory of N idle", "containers", "VMs"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("the memory chart lacks %q", want)
		}
	}
	if _, err := Charts(Results{Schema: Schema}, dir, []string{"svg"}); !errors.Is(err, ErrNoSteps) {
		t.Errorf("chart of no steps: %v", err)
	}
}

package compare

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestJSONRoundTrip(t *testing.T) {
	in := synthetic(3)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, in); err != nil {
		t.Fatal(err)
	}
	// One document: a decoder finds exactly one value and then EOF.
	dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	if dec.More() {
		t.Error("more than one JSON value written")
	}
	out, err := DecodeResults(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip changed the document:\n in %+v\nout %+v", in, out)
	}
}

func TestDecodeResultsRejects(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      error
		msg       string
	}{
		{"not json", "hello", nil, "parse results"},
		{"no schema", `{"runs":[]}`, ErrUnknownSchema, `no "schema" field`},
		{"other schema", `{"schema":"twinboot/v9"}`, ErrUnknownSchema, `"twinboot/v9"`},
		{"wrong type", `{"schema":"twinboot/v1","runs":"x"}`, nil, "parse results"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeResults(strings.NewReader(tc.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v is not %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q lacks %q", err, tc.msg)
			}
		})
	}
}

func TestReadResultsFileMissing(t *testing.T) {
	_, err := ReadResultsFile(filepath.Join(t.TempDir(), "nope.json"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.json") {
		t.Errorf("got %v, want a not-exist error naming the file", err)
	}
}

func TestCSVRoundTrip(t *testing.T) {
	res := synthetic(2)
	res.Runs[1].Peers = append(res.Runs[1].Peers, Side{Name: PeerRunc, Error: "runc: exit status 1, with \"quotes\", commas\nand a newline"})
	rows := Rows(res)
	if len(rows) != 3*3+1 {
		t.Fatalf("%d rows, want one per side per run (10)", len(rows))
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCSV(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rows, back) {
		t.Errorf("round trip changed the rows:\n in %+v\nout %+v", rows, back)
	}
	header := strings.SplitN(buf.String(), "\n", 2)[0]
	for _, col := range []string{"run", "side", "ready_ns", "touched_bytes", "cgroup_peak_bytes", "phase:first KVM_RUN", "phase:pivot_root done"} {
		if !strings.Contains(header, col) {
			t.Errorf("header %q lacks %q", header, col)
		}
	}
	// Facts computed against the host: the VM's kernel is its own, the
	// container's is the host's.
	for _, r := range back {
		switch r.Side {
		case "vm":
			if r.SameAsHost || r.BootIDSame {
				t.Errorf("vm row claims the host's kernel: %+v", r)
			}
		case "container":
			if !r.SameAsHost || !r.BootIDSame {
				t.Errorf("container row denies the host's kernel: %+v", r)
			}
		}
	}
}

func TestReadCSVRejects(t *testing.T) {
	for _, tc := range []struct{ name, in, msg string }{
		{"empty", "", "header"},
		{"other csv", "a,b,c\n1,2,3\n", "not a twinboot CSV"},
		{"bad number", strings.Join(fixedColumns, ",") + "\n" + "x" + strings.Repeat(",false", len(fixedColumns)-1) + "\n", `column "run"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want an error containing %q", err, tc.msg)
			}
		})
	}
}

func TestKernelFacts(t *testing.T) {
	res := synthetic(1)
	k := res.Runs[1].Kernel
	if k.VMSameAsHost || k.VMBootIDSame || !k.ContainerSameAsHost || !k.ContainerBootIDSame {
		t.Errorf("sharing facts wrong: %+v", k)
	}
	if k.KernelsInRAM != 2 || k.GuestKernelBytes != 6<<20 || k.VMSyscalls != 1000 || k.ContainerSyscalls != 1000 {
		t.Errorf("counts wrong: %+v", k)
	}
	// The fixture's baseline is the run itself: no exit is attributable.
	if k.VMSyscallExits != 0 || !strings.Contains(k.SyscallExitsMethod, "baseline") {
		t.Errorf("syscall exits: %d (%s)", k.VMSyscallExits, k.SyscallExitsMethod)
	}
	// Console I/O is not counted: 701 exits, 651 of them console → 50.
	if got := quietExits(res.Runs[1].VM); got != 50 {
		t.Errorf("quietExits = %d, want 50", got)
	}
	base := *res.Runs[1].VM
	base.Exits = map[string]uint64{"io": 690, "shutdown": 1}
	k = KernelFacts(res.Host, res.Runs[1].VM, res.Runs[1].Container, &base, KernelImage{})
	if k.VMSyscallExits != 10 {
		t.Errorf("with a baseline of 40 quiet exits: got %d, want 10", k.VMSyscallExits)
	}
	k = KernelFacts(res.Host, res.Runs[1].VM, res.Runs[1].Container, nil, KernelImage{})
	if k.VMSyscallExits != 0 || !strings.HasPrefix(k.SyscallExitsMethod, "not measured") {
		t.Errorf("no baseline: %+v", k)
	}
	k = KernelFacts(res.Host, &Side{Name: "vm", Error: "timeout"}, res.Runs[1].Container, nil, KernelImage{})
	if k.KernelsInRAM != 1 {
		t.Errorf("a VM that never booted adds no kernel: %+v", k)
	}
}

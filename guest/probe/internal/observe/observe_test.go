package observe

import (
	"errors"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/twinboot/twinboot/guest/report"
)

func TestFilesFixtures(t *testing.T) {
	for _, tc := range []struct {
		dir        string
		bootID     string
		uptime     float64
		total      uint64
		avail      uint64
		cpus       int
		mounts     int
		cgroup     string
		wantErrors []string // fields with an error recorded
	}{
		{
			dir: "host", bootID: "2698886a-4fbc-4c24-9e02-ea1f8d7dc001", uptime: 592.32,
			total: 24684092, avail: 24001216, cpus: 2, mounts: 5,
			cgroup: "4:memory:/process_api/46a5395e55e4dc3706689e5e519a59eb;1:cpu:/;0::/",
		},
		{
			// The lab kernel has no cgroups: /proc/self/cgroup does not exist.
			dir: "vm", bootID: "0f286e04-0cf5-4071-a4d5-587364f8d8b9", uptime: 1.15,
			total: 248852, avail: 233384, cpus: 4, mounts: 4,
			wantErrors: []string{"cgroup"},
		},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			var r report.Report
			Files(os.DirFS("testdata/"+tc.dir), &r)
			if r.BootID != tc.bootID {
				t.Errorf("boot_id = %q, want %q", r.BootID, tc.bootID)
			}
			if r.UptimeSec == nil || *r.UptimeSec != tc.uptime {
				t.Errorf("uptime = %v, want %v", r.UptimeSec, tc.uptime)
			}
			if r.MemTotalKB == nil || *r.MemTotalKB != tc.total {
				t.Errorf("mem_total_kb = %v, want %d", r.MemTotalKB, tc.total)
			}
			if r.MemAvailKB == nil || *r.MemAvailKB != tc.avail {
				t.Errorf("mem_available_kb = %v, want %d", r.MemAvailKB, tc.avail)
			}
			if r.CPUs != tc.cpus {
				t.Errorf("cpus = %d, want %d", r.CPUs, tc.cpus)
			}
			if r.Mounts == nil || *r.Mounts != tc.mounts {
				t.Errorf("mounts = %v, want %d", r.Mounts, tc.mounts)
			}
			if r.Cgroup != tc.cgroup {
				t.Errorf("cgroup = %q, want %q", r.Cgroup, tc.cgroup)
			}
			var got []string
			for k := range r.Errors {
				got = append(got, k)
			}
			if len(got) != len(tc.wantErrors) || (len(got) > 0 && !reflect.DeepEqual(got, tc.wantErrors)) {
				t.Errorf("errors = %v, want fields %v", r.Errors, tc.wantErrors)
			}
		})
	}
}

// An empty tree is what a probe sees with nothing mounted: every field is
// absent, each with its reason, and nothing panics.
func TestFilesNothingMounted(t *testing.T) {
	var r report.Report
	Files(fstest.MapFS{}, &r)
	if r.BootID != "" || r.UptimeSec != nil || r.MemTotalKB != nil || r.MemAvailKB != nil ||
		r.CPUs != 0 || r.Mounts != nil || r.Cgroup != "" {
		t.Fatalf("fields set from an empty tree: %+v", r)
	}
	for _, f := range []string{"boot_id", "uptime_s", "mem_total_kb", "mem_available_kb", "cpus", "mounts", "cgroup"} {
		msg, ok := r.Errors[f]
		if !ok {
			t.Errorf("no error recorded for %s", f)
			continue
		}
		// MapFS says "file does not exist" where the kernel says "no such
		// file or directory"; both name the file the way the report does.
		if !strings.Contains(msg, "does not exist") || !strings.HasPrefix(msg, "read /") {
			t.Errorf("errors[%s] = %q, want 'read /…: file does not exist'", f, msg)
		}
	}
	if _, err := (report.Report{Errors: r.Errors}).Line(); err != nil {
		t.Fatal(err)
	}
}

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

// Malformed files: the field is absent and the error says malformed.
func TestFilesMalformed(t *testing.T) {
	fsys := fstest.MapFS{
		bootIDPath:    file("not-a-uuid\n"),
		uptimePath:    file("soon 12.0\n"),
		meminfoPath:   file("MemTotal: lots kB\nMemAvailable:   12 MB\n"),
		cpuOnlinePath: file("3-1\n"),
		mountinfoPath: file("22 27 0:21 / /proc\n"),
		cgroupPath:    file("garbage\n"),
	}
	var r report.Report
	Files(fsys, &r)
	for _, f := range []string{"boot_id", "uptime_s", "mem_total_kb", "mem_available_kb", "cpus", "mounts", "cgroup"} {
		if !strings.Contains(r.Errors[f], "malformed") {
			t.Errorf("errors[%s] = %q, want malformed", f, r.Errors[f])
		}
	}
	if r.BootID != "" || r.UptimeSec != nil || r.MemTotalKB != nil || r.MemAvailKB != nil ||
		r.CPUs != 0 || r.Mounts != nil || r.Cgroup != "" {
		t.Fatalf("fields set from malformed files: %+v", r)
	}
}

func TestFilesEmpty(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, p := range []string{bootIDPath, uptimePath, meminfoPath, cpuOnlinePath, mountinfoPath, cgroupPath} {
		fsys[p] = file("")
	}
	var r report.Report
	Files(fsys, &r)
	// An empty mountinfo is zero mounts, which is odd but not malformed;
	// every other empty file is.
	if r.Mounts == nil || *r.Mounts != 0 {
		t.Errorf("mounts = %v, want 0", r.Mounts)
	}
	for _, f := range []string{"boot_id", "uptime_s", "mem_total_kb", "mem_available_kb", "cpus", "cgroup"} {
		if _, ok := r.Errors[f]; !ok {
			t.Errorf("no error for empty %s", f)
		}
	}
}

func TestMeminfoPartial(t *testing.T) {
	fsys := fstest.MapFS{meminfoPath: file("MemTotal:  1000 kB\nMemFree: 10 kB\n")}
	total, _, errTotal, errAvail := Meminfo(fsys)
	if errTotal != nil || total != 1000 {
		t.Fatalf("MemTotal = %d, %v", total, errTotal)
	}
	if !errors.Is(errAvail, ErrMalformed) {
		t.Fatalf("MemAvailable error = %v, want ErrMalformed", errAvail)
	}
}

func TestCountCPUList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		err  bool
	}{
		{"0", 1, false},
		{"0-3", 4, false},
		{"0-3,6,8-9", 7, false},
		{"", 0, true},
		{"a-b", 0, true},
		{"3-1", 0, true},
		{"0,,1", 0, true},
		{"-1", 0, true},
	} {
		got, err := CountCPUList(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("CountCPUList(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestCmdlineParams(t *testing.T) {
	got, err := CmdlineParams(os.DirFS("testdata/vm"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"mode": "poweroff", "syscalls": "500"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("params = %v, want %v", got, want)
	}
	if _, err := CmdlineParams(fstest.MapFS{}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing cmdline: err = %v, want not-exist", err)
	}
}

func TestSyscallBurst(t *testing.T) {
	b := SyscallBurst(1000)
	if b.Count != 1000 || b.TotalNS <= 0 {
		t.Fatalf("burst = %+v", b)
	}
	if b := SyscallBurst(0); b.Count != 0 {
		t.Fatalf("empty burst = %+v", b)
	}
}

func BenchmarkGetppid(b *testing.B) {
	SyscallBurst(b.N)
}

// The VM fixture holds two virtio disks, the second read-only; a device
// whose size file is garbage is an error under "disks", and no /sys/block
// at all (a kernel without a block layer) is no disks and no error.
func TestDisks(t *testing.T) {
	var r report.Report
	Files(os.DirFS("testdata/vm"), &r)
	want := []report.Disk{{Name: "vda", SizeBytes: 8 << 20}, {Name: "vdb", SizeBytes: 4 << 20, ReadOnly: true}}
	if !reflect.DeepEqual(r.Disks, want) {
		t.Errorf("disks = %+v, want %+v", r.Disks, want)
	}
	bad := fstest.MapFS{"sys/block/vda/size": file("lots\n"), "sys/block/vda/ro": file("0\n")}
	if _, err := Disks(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("malformed size: err = %v, want ErrMalformed", err)
	}
	huge := fstest.MapFS{"sys/block/vda/size": file("18446744073709551615\n"), "sys/block/vda/ro": file("0\n")}
	if _, err := Disks(huge); !errors.Is(err, ErrMalformed) {
		t.Errorf("size overflowing bytes: err = %v, want ErrMalformed", err)
	}
	if d, err := Disks(fstest.MapFS{}); err != nil || d != nil {
		t.Errorf("no /sys/block: %v, %v; want nothing and no error", d, err)
	}
}

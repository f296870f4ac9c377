package container

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// hostSnapshot is what the leak tests compare before and after: the mount
// table, every twinboot cgroup in every hierarchy, the runtime's state
// directories, and this process's children.
type hostSnapshot struct {
	mounts   []string
	cgroups  []string
	state    []string
	children []string
}

func takeSnapshot(t testing.TB) hostSnapshot {
	t.Helper()
	var s hostSnapshot
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		// Drop the mount and parent ids: only what is mounted where matters.
		if f := strings.SplitN(l, " ", 3); len(f) == 3 {
			s.mounts = append(s.mounts, f[2])
		}
	}
	filepath.WalkDir(cgroupRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if strings.HasPrefix(d.Name(), "twinboot-") {
			s.cgroups = append(s.cgroups, p)
			return fs.SkipDir
		}
		if strings.Count(strings.TrimPrefix(p, cgroupRoot), "/") > 4 {
			return fs.SkipDir
		}
		return nil
	})
	if entries, err := os.ReadDir(StateRoot); err == nil {
		for _, e := range entries {
			s.state = append(s.state, e.Name())
		}
	}
	s.children = childProcesses(os.Getpid())
	slices.Sort(s.mounts)
	slices.Sort(s.cgroups)
	return s
}

// childProcesses lists the processes whose parent is pid, as "pid comm".
func childProcesses(pid int) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		st := string(b)
		i := strings.LastIndexByte(st, ')')
		f := strings.Fields(st[i+1:])
		if len(f) > 2 && f[1] == strconv.Itoa(pid) {
			out = append(out, strconv.Itoa(n)+" "+st[strings.IndexByte(st, '(')+1:i])
		}
	}
	return out
}

// assertNoLeak fails if anything the runtime creates is in after but not in
// before. Mounts made by other programs on a shared machine are reported
// but only mounts that name a twinboot path count as leaks.
func assertNoLeak(t testing.TB, before, after hostSnapshot) {
	t.Helper()
	for _, m := range setDiff(after.mounts, before.mounts) {
		if strings.Contains(m, "twinboot") || strings.Contains(m, "overlay") || strings.Contains(m, StateRoot) {
			t.Errorf("leaked mount: %s", m)
		} else {
			t.Logf("new mount not made by twinboot (ignored): %s", m)
		}
	}
	for _, c := range setDiff(after.cgroups, before.cgroups) {
		t.Errorf("leaked cgroup: %s", c)
	}
	for _, d := range setDiff(after.state, before.state) {
		t.Errorf("leaked state dir: %s", filepath.Join(StateRoot, d))
	}
	for _, p := range setDiff(after.children, before.children) {
		t.Errorf("leaked child process: %s", p)
	}
}

func setDiff(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

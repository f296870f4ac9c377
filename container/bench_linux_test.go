package container

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/guest/report"
)

// BenchmarkSpawnToReady runs the same bundle (the lab probe, exit mode) under
// twinboot and its peers, round-robin in one loop so that all see the same
// machine load, and reports the median time from spawn to the READY line of
// each, and the ratios the issue sets as goals. The contestants:
//
//   - twinboot: Run in process with the init binary twinboot-init (what
//     `twinboot ct run` and the compare package use after make bin);
//   - twinboot-reexec: Run re-executing its own (here: test) binary as init;
//   - twinboot-cli: the built command, `twinboot ct run --bundle`, timed
//     from its fork like runc and crun (when build/bin/twinboot exists);
//   - runc and crun, from their fork (crun with the hybrid workaround).
//
// Run it with:
//
//	go test -run '^$' -bench SpawnToReady -benchtime 50x ./container/
func BenchmarkSpawnToReady(b *testing.B) {
	rootfs := labRootfs(b)
	bundle := writeBundle(b, rootfs, DefaultArgs, nil)
	initBin := buildInit(b)
	type peer struct {
		name string
		run  func(id string) (time.Duration, error)
	}
	peers := []peer{
		{"twinboot", func(string) (time.Duration, error) { return spawnAPI(bundle, initBin) }},
		{"twinboot-reexec", func(string) (time.Duration, error) { return spawnAPI(bundle, "/proc/self/exe") }},
	}
	if bin := filepath.Join(guest.BuildDir(), "bin", "twinboot"); isFile(bin) {
		peers = append(peers, peer{"twinboot-cli", func(string) (time.Duration, error) {
			return spawnCommand(exec.Command(bin, "ct", "run", "--bundle", bundle))
		}})
	} else {
		b.Logf("no %s (make bin): the CLI is not measured", bin)
	}
	state := b.TempDir()
	if p, err := exec.LookPath("runc"); err == nil {
		peers = append(peers, peer{"runc", func(id string) (time.Duration, error) {
			return spawnCommand(exec.Command(p, "--root", filepath.Join(state, "runc"), "run", "--bundle", bundle, id))
		}})
	} else {
		b.Log("runc not installed: not measured")
	}
	if p, err := exec.LookPath("crun"); err == nil {
		h := newHybridWorkaround(b)
		peers = append(peers, peer{"crun", func(id string) (time.Duration, error) {
			return h.spawn(exec.Command(p, "--root", filepath.Join(state, "crun"), "run", "--bundle", bundle, id))
		}})
	} else {
		b.Log("crun not installed: not measured")
	}

	times := make([][]time.Duration, len(peers))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, p := range peers {
			d, err := p.run(fmt.Sprintf("tb-bench-%d-%d", os.Getpid(), i))
			if err != nil {
				b.Fatalf("%s: %v", p.name, err)
			}
			times[j] = append(times[j], d)
		}
	}
	b.StopTimer()
	med := map[string]float64{}
	for j, p := range peers {
		m := median(times[j])
		med[p.name] = float64(m) / 1e6
		b.ReportMetric(med[p.name], p.name+"-ms")
		b.Logf("%-13s median %v  min %v  (n=%d)", p.name, m, minDur(times[j]), len(times[j]))
	}
	for _, peer := range []string{"crun", "runc"} {
		if v, ok := med[peer]; ok {
			b.ReportMetric(med["twinboot"]/v, "twinboot/"+peer)
		}
	}
	b.ReportMetric(0, "ns/op") // the loop's time mixes the runtimes; the metrics above are the result
}

// spawnAPI is twinboot's Run, in process: the time from entering Run to the
// READY line, as Run's own phases report it.
func spawnAPI(bundle, init string) (time.Duration, error) {
	res, err := Run(context.Background(), Spec{Bundle: bundle, Init: init, Timeout: 30 * time.Second})
	if err != nil {
		return 0, err
	}
	for _, p := range res.Phases {
		if p.Name == PhaseReady {
			return p.At, nil
		}
	}
	return 0, fmt.Errorf("no READY line (reason %s, exit %d)", res.Reason, res.ExitCode)
}

// spawnCommand starts a runtime's command line and times it from just before
// the fork to the READY line on its stdout, then waits for it to finish.
func spawnCommand(cmd *exec.Cmd) (time.Duration, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	var ready time.Duration
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if ready == 0 && strings.Contains(sc.Text(), report.Prefix) {
			ready = time.Since(t0)
		}
	}
	if err := cmd.Wait(); err != nil {
		return 0, fmt.Errorf("%v: %v: %s", cmd.Args, err, stderr.String())
	}
	if ready == 0 {
		return 0, fmt.Errorf("%v: no READY line: %s", cmd.Args, stderr.String())
	}
	return ready, nil
}

// hybridWorkaround starts commands from one OS thread that has its own mount
// namespace in which /sys/fs/cgroup/unified is unmounted: crun refuses a
// hybrid cgroup layout ("cgroups in hybrid mode not supported") and sees pure
// v1 there. Doing it once, on a locked thread, keeps the workaround's cost
// (an unshare and a shell) out of crun's figures.
type hybridWorkaround struct {
	jobs chan func()
}

func newHybridWorkaround(b *testing.B) *hybridWorkaround {
	h := &hybridWorkaround{jobs: make(chan func())}
	ready := make(chan error)
	go func() {
		// The thread stays locked and is never unlocked: when this goroutine
		// ends, the runtime discards the thread and its private namespace.
		runtime.LockOSThread()
		err := unix.Unshare(unix.CLONE_NEWNS)
		if err == nil {
			err = unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")
		}
		if err == nil {
			if e := unix.Unmount("/sys/fs/cgroup/unified", unix.MNT_DETACH); e != nil && e != unix.EINVAL && e != unix.ENOENT {
				err = e
			}
		}
		ready <- err
		if err != nil {
			return
		}
		for job := range h.jobs {
			job()
		}
	}()
	if err := <-ready; err != nil {
		b.Fatalf("crun workaround: %v", err)
	}
	b.Cleanup(func() { close(h.jobs) })
	return h
}

func (h *hybridWorkaround) spawn(cmd *exec.Cmd) (time.Duration, error) {
	type result struct {
		d   time.Duration
		err error
	}
	done := make(chan result)
	h.jobs <- func() {
		d, err := spawnCommand(cmd)
		done <- result{d, err}
	}
	r := <-done
	return r.d, r.err
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func minDur(d []time.Duration) time.Duration {
	m := d[0]
	for _, v := range d {
		m = min(m, v)
	}
	return m
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

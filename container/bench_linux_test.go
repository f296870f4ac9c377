package container

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/container/internal/ctinit"
	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/guest/report"
)

// BenchmarkSpawnToReady runs the same bundle (the lab probe, exit mode) under
// twinboot and its peers, round-robin in one loop so that all see the same
// machine load, in a shuffled order every round. For each it reports two
// medians:
//
//   - NAME-ms: spawn to the READY line, the whole thing;
//   - NAME-start-ms: spawn to the probe's first instruction (the probe
//     stamps CLOCK_MONOTONIC as its first act, and a container shares the
//     host's clock): the runtime's own part, without the probe's start-up
//     and its 10,000-call syscall burst, which are the same everywhere;
//
// and the ratios the goals are set on (twinboot/crun, twinboot/runc, on the
// runtime's own part and on the whole). The contestants:
//
//   - twinboot: Run in process with the init binary twinboot-init (what
//     `twinboot ct run` and the compare package use after make bin), with
//     the default protections (capabilities, no_new_privs, seccomp, device
//     rules: see security.go);
//   - twinboot-open: the same bundle without those protections (full
//     capabilities, no filter, no device rules): what they cost;
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
	open := writeBundle(b, rootfs, DefaultArgs, func(m map[string]any) {
		p := m["process"].(map[string]any)
		delete(p, "capabilities")
		delete(p, "noNewPrivileges")
		l := m["linux"].(map[string]any)
		delete(l, "seccomp")
		delete(l, "resources")
	})
	initBin := buildInit(b)
	type peer struct {
		name string
		run  func(id string) (spawn, error)
	}
	peers := []peer{
		{"twinboot", func(string) (spawn, error) { return spawnAPI(bundle, initBin) }},
		{"twinboot-open", func(string) (spawn, error) { return spawnAPI(open, initBin) }},
		{"twinboot-reexec", func(string) (spawn, error) { return spawnAPI(bundle, "/proc/self/exe") }},
	}
	if bin := filepath.Join(guest.BuildDir(), "bin", "twinboot"); isFile(bin) {
		peers = append(peers, peer{"twinboot-cli", func(string) (spawn, error) {
			return spawnCommand(exec.Command(bin, "ct", "run", "--bundle", bundle))
		}})
	} else {
		b.Logf("no %s (make bin): the CLI is not measured", bin)
	}
	state := b.TempDir()
	if p, err := exec.LookPath("runc"); err == nil {
		peers = append(peers, peer{"runc", func(id string) (spawn, error) {
			return spawnCommand(exec.Command(p, "--root", filepath.Join(state, "runc"), "run", "--bundle", bundle, id))
		}})
	} else {
		b.Log("runc not installed: not measured")
	}
	if p, err := exec.LookPath("crun"); err == nil {
		h := newHybridWorkaround(b)
		peers = append(peers, peer{"crun", func(id string) (spawn, error) {
			return h.spawn(exec.Command(p, "--root", filepath.Join(state, "crun"), "run", "--bundle", bundle, id))
		}})
	} else {
		b.Log("crun not installed: not measured")
	}

	ready := make([][]time.Duration, len(peers))
	start := make([][]time.Duration, len(peers))
	order := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// A new order every round: whoever follows a slow contestant
		// pays for the pause (the first cgroup.procs write after one is
		// several ms slower here), and that must not always be the same
		// contestant. The seed is fixed, so runs are repeatable.
		for _, j := range order.Perm(len(peers)) {
			p := peers[j]
			d, err := p.run(fmt.Sprintf("tb-bench-%d-%d", os.Getpid(), i))
			if err != nil {
				b.Fatalf("%s: %v", p.name, err)
			}
			ready[j] = append(ready[j], d.ready)
			start[j] = append(start[j], d.start)
		}
	}
	b.StopTimer()
	med, medStart := map[string]float64{}, map[string]float64{}
	for j, p := range peers {
		m, ms := median(ready[j]), median(start[j])
		med[p.name], medStart[p.name] = float64(m)/1e6, float64(ms)/1e6
		b.ReportMetric(med[p.name], p.name+"-ms")
		b.ReportMetric(medStart[p.name], p.name+"-start-ms")
		b.Logf("%-15s to READY median %v min %v; to probe start median %v min %v (n=%d)",
			p.name, m, minDur(ready[j]), ms, minDur(start[j]), len(ready[j]))
	}
	for _, peer := range []string{"crun", "runc"} {
		if v, ok := med[peer]; ok {
			b.ReportMetric(med["twinboot"]/v, "twinboot/"+peer)
			b.ReportMetric(medStart["twinboot"]/medStart[peer], "twinboot-start/"+peer+"-start")
		}
	}
	b.ReportMetric(0, "ns/op") // the loop's time mixes the runtimes; the metrics above are the result
}

// spawn is one container's two times, from just before its spawn.
type spawn struct {
	ready time.Duration // to the READY line seen by the host
	start time.Duration // to the probe's first instruction (its own stamp)
}

// probeStart turns the probe's CLOCK_MONOTONIC stamp into a duration from t0.
func probeStart(rep report.Report, t0 int64) (time.Duration, error) {
	if rep.StartMonoNS <= t0 {
		return 0, fmt.Errorf("probe start stamp %d is not after the spawn (%d): an old probe? (make guest)", rep.StartMonoNS, t0)
	}
	return time.Duration(rep.StartMonoNS - t0), nil
}

// spawnAPI is twinboot's Run, in process: from just before Run to the READY
// line, as Run's own phases report it, and to the probe's start.
func spawnAPI(bundle, init string) (spawn, error) {
	t0 := ctinit.MonotonicNow()
	res, err := Run(context.Background(), Spec{Bundle: bundle, Init: init, Timeout: 30 * time.Second})
	if err != nil {
		return spawn{}, err
	}
	if res.Report == nil {
		return spawn{}, fmt.Errorf("no READY line (reason %s, exit %d)", res.Reason, res.ExitCode)
	}
	var s spawn
	for _, p := range res.Phases {
		if p.Name == PhaseReady {
			s.ready = p.At
		}
	}
	s.start, err = probeStart(*res.Report, t0)
	return s, err
}

// spawnCommand starts a runtime's command line and times it from just before
// the fork to the READY line on its stdout, then waits for it to finish.
func spawnCommand(cmd *exec.Cmd) (spawn, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return spawn{}, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	t0 := ctinit.MonotonicNow()
	if err := cmd.Start(); err != nil {
		return spawn{}, err
	}
	var s spawn
	var line string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if s.ready == 0 && strings.Contains(sc.Text(), report.Prefix) {
			s.ready = time.Duration(ctinit.MonotonicNow() - t0)
			line = sc.Text()
		}
	}
	if err := cmd.Wait(); err != nil {
		return spawn{}, fmt.Errorf("%v: %v: %s", cmd.Args, err, stderr.String())
	}
	if s.ready == 0 {
		return spawn{}, fmt.Errorf("%v: no READY line: %s", cmd.Args, stderr.String())
	}
	rep, err := report.Parse(line)
	if err != nil {
		return spawn{}, err
	}
	s.start, err = probeStart(rep, t0)
	return s, err
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

func (h *hybridWorkaround) spawn(cmd *exec.Cmd) (spawn, error) {
	type result struct {
		s   spawn
		err error
	}
	done := make(chan result)
	h.jobs <- func() {
		s, err := spawnCommand(cmd)
		done <- result{s, err}
	}
	r := <-done
	return r.s, r.err
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

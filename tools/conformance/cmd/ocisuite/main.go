// Command ocisuite runs the OCI runtime conformance suite
// (opencontainers/runtime-tools' validation programs) against one or more
// runtimes and checks the results against a list of known failures.
//
//	ocisuite -build DIR -runtime PATH [-runtime PATH2 ...] [-known FILE] [-only a,b]
//
// The programs are built once per go.sum of this module into
// DIR/<hash of go.sum>/ (with runtimetest, statically, since it runs inside
// the containers) and run one by one from that directory, which also holds
// the module's rootfs-amd64.tar.gz, as the suite expects. Each prints TAP;
// every "ok" and "not ok" line is one assertion, named
// "<program> <number> - <description>".
//
// With -known, the first runtime's run fails (exit 1) on a failing
// assertion the file does not list, and on a listed one that did not fail
// (fixed, or no longer run: the list only shrinks). A program that exits
// non-zero having printed no assertion at all counts as one failure named
// "<program> (no results)". Further runtimes are run for comparison only,
// side by side.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var runtimes listFlag
	build := flag.String("build", "", "directory for the built suite (required, unless -suite)")
	suite := flag.String("suite", "", "a suite built before (the directory -print-suite names): run it as it is, build nothing (inside L1, which has no Go)")
	printSuite := flag.Bool("print-suite", false, "build the suite if needed, print its directory and exit")
	known := flag.String("known", "", "known-failures file checked against the first runtime")
	only := flag.String("only", "", "comma-separated programs to run (default: all)")
	timeout := flag.Duration("timeout", 2*time.Minute, "time limit per program")
	flag.Var(&runtimes, "runtime", "runtime executable (repeatable; the first is checked)")
	flag.Parse()
	if *printSuite && *build != "" {
		dir, _, err := buildSuite(*build)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ocisuite:", err)
			os.Exit(1)
		}
		fmt.Println(dir)
		return
	}
	if (*build == "" && *suite == "") || len(runtimes) == 0 {
		fmt.Fprintln(os.Stderr, "ocisuite: -build (or -suite) and -runtime are required")
		os.Exit(2)
	}
	if err := run(*build, *suite, runtimes, *known, *only, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "ocisuite:", err)
		os.Exit(1)
	}
}

func run(buildRoot, suite string, runtimes []string, knownPath, only string, timeout time.Duration) error {
	var (
		dir      string
		programs []string
		err      error
	)
	if suite != "" {
		dir, programs, err = listSuite(suite)
		if err == nil {
			err = busyboxReady(dir)
		}
	} else {
		dir, programs, err = buildSuite(buildRoot)
	}
	if err != nil {
		return err
	}
	if only != "" {
		want := map[string]bool{}
		for _, p := range strings.Split(only, ",") {
			want[p] = true
		}
		var sel []string
		for _, p := range programs {
			if want[p] {
				sel = append(sel, p)
			}
		}
		programs = sel
	}
	var results []*runResult
	for _, rt := range runtimes {
		res, err := runSuite(dir, rt, programs, timeout)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	report(os.Stdout, programs, results)
	if knownPath == "" {
		return nil
	}
	known, err := readKnown(knownPath)
	if err != nil {
		return err
	}
	if only != "" {
		// A partial run checks only the programs it ran.
		for k := range known {
			if !contains(programs, strings.Fields(k)[0]) {
				delete(known, k)
			}
		}
	}
	return check(os.Stdout, results[0], known, knownPath)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// buildSuite builds the validation programs and runtimetest, once per
// go.sum, and returns the directory and the programs' names.
func buildSuite(buildRoot string) (string, []string, error) {
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		return "", nil, fmt.Errorf("run from tools/conformance: %w", err)
	}
	h := sha256.Sum256(sum)
	dir, err := filepath.Abs(filepath.Join(buildRoot, hex.EncodeToString(h[:6])))
	if err != nil {
		return "", nil, err
	}
	stamp := filepath.Join(dir, ".built")
	if _, err := os.Stat(stamp); err != nil {
		fmt.Printf("ocisuite: building runtime-tools' validation programs into %s\n", dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, err
		}
		cmd := exec.Command("go", "build", "-p", "1", "-o", dir+"/",
			"github.com/opencontainers/runtime-tools/cmd/runtimetest",
			"github.com/opencontainers/runtime-tools/validation/...")
		// runtimetest runs inside the containers, whose root has no libc.
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return "", nil, fmt.Errorf("build the suite: %w", err)
		}
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/opencontainers/runtime-tools").Output()
		if err != nil {
			return "", nil, fmt.Errorf("find runtime-tools in the module cache: %w", err)
		}
		tarball, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "rootfs-amd64.tar.gz"))
		if err != nil {
			return "", nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "rootfs-amd64.tar.gz"), tarball, 0o644); err != nil {
			return "", nil, err
		}
		if err := os.WriteFile(stamp, nil, 0o644); err != nil {
			return "", nil, err
		}
	}
	return listSuite(dir)
}

// busyboxReady adapts a suite run where the only tar is busybox's (inside
// nested mode's L1): the suite runs "tar -xf rootfs-amd64.tar.gz", which
// that tar cannot read compressed, and L1's /bin has no tar link. The
// tarball is decompressed in place (its name stays, as the suite wants it)
// and a tar link to busybox goes first on PATH.
func busyboxReady(dir string) error {
	if _, err := exec.LookPath("tar"); err != nil {
		bb, err := exec.LookPath("busybox")
		if err != nil {
			return errors.New("no tar and no busybox on PATH: the suite unpacks its rootfs with tar")
		}
		bin, err := os.MkdirTemp("", "ocisuite-bin-")
		if err != nil {
			return err
		}
		if err := os.Symlink(bb, filepath.Join(bin, "tar")); err != nil {
			return err
		}
		os.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	} else if !isBusybox("tar") {
		return nil // a real tar reads gzip
	}
	p := filepath.Join(dir, "rootfs-amd64.tar.gz")
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil // already plain
	}
	tmp := p + ".plain"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, zr); err != nil {
		out.Close()
		os.Remove(tmp)
		return fmt.Errorf("decompress %s: %w", p, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// isBusybox says whether the program name on PATH is busybox.
func isBusybox(name string) bool {
	p, err := exec.LookPath(name)
	if err != nil {
		return false
	}
	target, err := filepath.EvalSymlinks(p)
	return err == nil && filepath.Base(target) == "busybox"
}

// listSuite lists the programs of a built suite directory.
func listSuite(dir string) (string, []string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, ".built")); err != nil {
		return "", nil, fmt.Errorf("%s is not a built suite: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", nil, err
	}
	var programs []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && n != "runtimetest" && !strings.HasPrefix(n, ".") && !strings.Contains(n, ".") {
			programs = append(programs, n)
		}
	}
	sort.Strings(programs)
	if len(programs) == 0 {
		return "", nil, errors.New("the suite has no programs")
	}
	return dir, programs, nil
}

type assertion struct {
	name string // "<program> <n> - <description>"
	ok   bool
}

type programResult struct {
	ok, notOK  int
	exitErr    error
	assertions []assertion
	elapsed    time.Duration
}

type runResult struct {
	runtime  string
	programs map[string]*programResult
	leftover []string // containers the runtime still listed afterwards
}

var tapLine = regexp.MustCompile(`^(not )?ok (\d+)(?: - (.*))?$`)

func runSuite(dir, runtime string, programs []string, timeout time.Duration) (*runResult, error) {
	rt, err := exec.LookPath(runtime)
	if err != nil {
		return nil, fmt.Errorf("runtime %s: %w", runtime, err)
	}
	if rt, err = filepath.Abs(rt); err != nil {
		return nil, err
	}
	res := &runResult{runtime: runtime, programs: map[string]*programResult{}}
	// The programs make their bundles with ioutil.TempDir and leave some
	// behind when they fail: give them a directory of their own, cleaned
	// up after the run.
	// Under /tmp and as open as /tmp: a container with a user namespace
	// must be able to walk to its bundle.
	tmp, err := os.MkdirTemp("", "ocisuite-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp, 0o1777); err != nil {
		return nil, err
	}
	defer func() {
		if err := removeTemp(tmp); err != nil {
			fmt.Fprintf(os.Stderr, "ocisuite: %v\n", err)
		}
	}()
	for _, p := range programs {
		pr, stderr := runProgram(dir, p, rt, tmp, timeout)
		if pr.ok+pr.notOK == 0 {
			// A program that printed no assertion is run once more: once,
			// process_rlimits (282 assertions every other time) printed
			// none and exited 0. Programs that never assert (the hook
			// programs) print none again and cost a second or two; when
			// the second run does assert, it counts, and that is said.
			again, _ := runProgram(dir, p, rt, tmp, timeout)
			if again.ok+again.notOK > 0 {
				fmt.Fprintf(os.Stderr, "ocisuite: %s printed no result the first time (%v; stderr: %s); the second run counts\n", p, pr.exitErr, lastLine(stderr))
				pr = again
			}
		}
		runErr := pr.exitErr
		if pr.ok+pr.notOK == 0 && runErr != nil {
			pr.assertions = append(pr.assertions, assertion{name: p + " (no results)"})
			pr.notOK++
		}
		// The suite deletes what it creates; whatever is left after a
		// program is its leak, one failure "<program> (left a container)"
		// (a program that stops at a failure may skip its clean-up).
		if out, err := exec.Command(rt, "list", "--quiet").Output(); err == nil {
			for _, id := range strings.Fields(string(out)) {
				res.leftover = append(res.leftover, p+":"+id)
				exec.Command(rt, "delete", "--force", id).Run()
			}
			if ids := strings.Fields(string(out)); len(ids) > 0 {
				pr.assertions = append(pr.assertions, assertion{name: p + " (left a container)"})
				pr.notOK++
			}
		}
		res.programs[p] = pr
	}
	return res, nil
}

// runProgram runs one validation program against the runtime rt and
// parses its TAP.
func runProgram(dir, p, rt, tmp string, timeout time.Duration) (*programResult, []byte) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, p))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "RUNTIME="+rt, "TMPDIR="+tmp)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	pr := &programResult{exitErr: runErr, elapsed: time.Since(start)}
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		m := tapLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		a := assertion{name: fmt.Sprintf("%s %s - %s", p, m[2], strings.TrimSpace(m[3])), ok: m[1] == ""}
		if a.ok {
			pr.ok++
		} else {
			pr.notOK++
		}
		pr.assertions = append(pr.assertions, a)
	}
	return pr, errb.Bytes()
}

// lastLine is the last non-empty line of b, for a one-line diagnosis.
func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// removeTemp removes the programs' temporary directory. A runtime may have
// left mounts in it (runc does, for a bundle whose root propagation is
// shared: the container's mounts propagate to the host): they are detached
// first, deepest first, and only then is anything removed, so that removal
// never walks into a bind-mounted host directory.
func removeTemp(dir string) error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			points = append(points, f[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	for _, p := range points {
		syscall.Unmount(p, syscall.MNT_DETACH)
	}
	if len(points) > 0 {
		fmt.Fprintf(os.Stderr, "ocisuite: detached %d mount(s) the runtime left under %s\n", len(points), dir)
	}
	// Check again: never remove a tree that still has a mount in it.
	if b, err = os.ReadFile("/proc/self/mountinfo"); err != nil {
		return err
	}
	if strings.Contains(string(b), " "+dir+"/") || strings.Contains(string(b), " "+dir+" ") {
		return fmt.Errorf("mounts remain under %s: left in place", dir)
	}
	return os.RemoveAll(dir)
}

func report(w io.Writer, programs []string, results []*runResult) {
	fmt.Fprintf(w, "%-36s", "program")
	for _, r := range results {
		fmt.Fprintf(w, " %22s", filepath.Base(r.runtime)+" ok/not ok")
	}
	fmt.Fprintln(w)
	totals := make([][2]int, len(results))
	clean := make([]int, len(results))
	for _, p := range programs {
		fmt.Fprintf(w, "%-36s", p)
		for i, r := range results {
			pr := r.programs[p]
			fmt.Fprintf(w, " %22s", fmt.Sprintf("%d/%d", pr.ok, pr.notOK))
			totals[i][0] += pr.ok
			totals[i][1] += pr.notOK
			if pr.notOK == 0 {
				clean[i]++
			}
		}
		fmt.Fprintln(w)
	}
	for i, r := range results {
		fmt.Fprintf(w, "ocisuite: %s: %d ok, %d not ok, %d of %d programs without a failure", r.runtime, totals[i][0], totals[i][1], clean[i], len(programs))
		if len(r.leftover) > 0 {
			fmt.Fprintf(w, "; %d container(s) left behind and deleted: %s", len(r.leftover), strings.Join(r.leftover, " "))
		}
		fmt.Fprintln(w)
	}
}

// readKnown reads "<assertion name>  # reason" lines; blank lines and lines
// starting with # are comments. Every entry needs its reason.
func readKnown(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	known := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, reason, ok := strings.Cut(line, " # ")
		if !ok || strings.TrimSpace(reason) == "" {
			return nil, fmt.Errorf("%s:%d: an entry needs its reason after \" # \"", path, i+1)
		}
		known[strings.TrimSpace(name)] = strings.TrimSpace(reason)
	}
	return known, nil
}

func check(w io.Writer, r *runResult, known map[string]string, knownPath string) error {
	failed := map[string]bool{}
	var unexpected []string
	for _, pr := range r.programs {
		for _, a := range pr.assertions {
			if a.ok {
				continue
			}
			failed[a.name] = true
			if _, ok := known[a.name]; !ok {
				unexpected = append(unexpected, a.name)
			}
		}
	}
	var fixed []string
	for k := range known {
		if !failed[k] {
			fixed = append(fixed, k)
		}
	}
	sort.Strings(unexpected)
	sort.Strings(fixed)
	for _, u := range unexpected {
		fmt.Fprintf(w, "ocisuite: FAIL (not in %s): %s\n", filepath.Base(knownPath), u)
	}
	for _, f := range fixed {
		fmt.Fprintf(w, "ocisuite: FIXED (remove it from %s): %s\n", filepath.Base(knownPath), f)
	}
	if len(unexpected)+len(fixed) > 0 {
		return fmt.Errorf("%s: %d unexpected failure(s), %d listed failure(s) that did not fail", r.runtime, len(unexpected), len(fixed))
	}
	fmt.Fprintf(w, "ocisuite: %s: every failure is a known one (%d listed)\n", r.runtime, len(known))
	return nil
}

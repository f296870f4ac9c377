package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twinboot/twinboot/internal/testutil"
	"golang.org/x/sys/unix"
)

// These tests drive the real twinboot binary in a real terminal (tmux), as a
// student would: type keys, read the screen.

// labBinary builds this source tree, static and named twinboot (nested
// mode copies the running binary into its lab machine only under that
// name). Go's build cache makes the second build of a run cheap.
func labBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "twinboot")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// tmuxLab is one lab running in its own tmux server.
type tmuxLab struct {
	t      *testing.T
	socket string
}

func startLab(t *testing.T, w, h int, env []string, bin string, args ...string) *tmuxLab {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		testutil.Missing(t, "tmux (Debian package tmux): %v", err)
	}
	l := &tmuxLab{t: t, socket: fmt.Sprintf("twinboot-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())}
	// The shell stays after the lab exits and prints its status, so the
	// test can read both the last screen and the exit code.
	script := `"$0" "$@"; echo "LAB-EXIT=$?"; exec sleep 600`
	cmdArgs := []string{"-L", l.socket, "new-session", "-d", "-x", strconv.Itoa(w), "-y", strconv.Itoa(h)}
	for _, e := range env {
		cmdArgs = append(cmdArgs, "-e", e)
	}
	cmdArgs = append(cmdArgs, "sh", "-c", script, bin)
	cmdArgs = append(cmdArgs, args...)
	if out, err := exec.Command("tmux", cmdArgs...).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	sock, _ := exec.Command("tmux", "-L", l.socket, "display-message", "-p", "#{socket_path}").Output()
	t.Cleanup(func() {
		exec.Command("tmux", "-L", l.socket, "kill-server").Run()
		if p := strings.TrimSpace(string(sock)); p != "" {
			os.Remove(p) // tmux leaves the socket file behind
		}
	})
	return l
}

func (l *tmuxLab) screen() string {
	out, err := exec.Command("tmux", "-L", l.socket, "capture-pane", "-p").Output()
	if err != nil {
		l.t.Fatalf("tmux capture-pane: %v", err)
	}
	return string(out)
}

func (l *tmuxLab) keys(keys ...string) {
	args := append([]string{"-L", l.socket, "send-keys"}, keys...)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("tmux send-keys: %v: %s", err, out)
	}
}

// waitFor polls the screen until cond holds, or fails with the last screen.
func (l *tmuxLab) waitFor(what string, d time.Duration, cond func(string) bool) string {
	l.t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := l.screen()
		if cond(s) {
			return s
		}
		if strings.Contains(s, "LAB-EXIT=") && !strings.Contains(what, "exit") {
			l.t.Fatalf("the lab exited while waiting for %s:\n%s", what, s)
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("no %s after %s; screen:\n%s", what, d, s)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var exitRe = regexp.MustCompile(`LAB-EXIT=(\d+)`)

// quit presses q, waits for the lab to exit and returns its status.
//
// A q typed in the instant a shell hands the terminal back to the lab can be
// lost (seen once in CI, under load, right after a container shell's exit),
// so q is pressed again until the lab shows that it is quitting; a second q
// is harmless once it is.
func (l *tmuxLab) quit(d time.Duration) int {
	l.t.Helper()
	l.keys("q")
	for i := 0; i < 5; i++ {
		if s := l.screen(); strings.Contains(s, "quitting") || exitRe.MatchString(s) {
			break
		}
		time.Sleep(3 * time.Second)
		if s := l.screen(); !strings.Contains(s, "quitting") && !exitRe.MatchString(s) {
			l.keys("q")
		}
	}
	s := l.waitFor("the lab's exit", d, func(s string) bool { return exitRe.MatchString(s) })
	code, _ := strconv.Atoi(exitRe.FindStringSubmatch(s)[1])
	return code
}

// becomeSubreaper makes orphans of our descendants (the lab's leftovers, if
// any) our children, so that a leak cannot hide by being reparented to init.
func becomeSubreaper(t *testing.T) {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
	t.Cleanup(func() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
}

// leftovers lists our descendants other than tmux and the pane's sleep:
// after the lab has exited, anything else (QEMU, a container's process, a
// twinboot) was left behind.
func leftovers(t *testing.T) []string {
	t.Helper()
	parent := map[int]int{}
	comm := map[int]string{}
	for _, p := range testutil.Processes() {
		parent[p.PID] = p.PPID
		comm[p.PID] = p.Comm
		if p.State == "Z" { // a zombie we inherited: reap it, it is gone
			var ws unix.WaitStatus
			unix.Wait4(p.PID, &ws, unix.WNOHANG, nil)
		}
	}
	self := os.Getpid()
	var out []string
	for pid := range parent {
		if pid == self {
			continue
		}
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == self {
				if c := comm[pid]; c != "tmux: server" && c != "sleep" && !strings.HasPrefix(c, "tmux") {
					out = append(out, fmt.Sprintf("%d (%s)", pid, c))
				}
				break
			}
		}
	}
	return out
}

// TestLabReplayInTmux drives the binary on a recorded stream: the terminal
// side of the lab (first frame, keys, export, quit) without an engine.
func TestLabReplayInTmux(t *testing.T) {
	becomeSubreaper(t)
	bin := labBinary(t)
	out := t.TempDir()
	stream, err := filepath.Abs("../../tui/testdata/run-nested.handwritten.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	l := startLab(t, 120, 40, nil, bin, "lab", "--replay", stream, "--replay-delay", "5ms", "--export", out)
	l.waitFor("the finished replay", 20*time.Second, func(s string) bool { return strings.Contains(s, "[idle] run finished") })
	s := l.screen()
	for _, want := range []string{"REPLAY of", "Virtual machine", "Container", "kernel shared with host: NO", "kernel shared with host: YES", "VM/container: 127×"} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}
	l.keys("e")
	s = l.waitFor("the export", 30*time.Second, func(s string) bool { return strings.Contains(s, "exported ") || strings.Contains(s, "export failed") })
	if !strings.Contains(s, "exported ") || !strings.Contains(s, out) {
		t.Errorf("export did not say where the files went:\n%s", s)
	}
	if _, err := os.Stat(filepath.Join(out, "results.json")); err != nil {
		t.Errorf("export: %v", err)
	}
	if code := l.quit(30 * time.Second); code != 0 {
		t.Errorf("lab exit status %d:\n%s", code, l.screen())
	}
	if left := leftovers(t); len(left) > 0 {
		t.Errorf("processes left after the lab quit: %v", left)
	}
}

// startLiveLab starts the real `twinboot lab` under tmux, with the real
// engine, and waits until both sides have reached READY. It returns the lab
// and that screen.
func startLiveLab(t *testing.T) (*tmuxLab, string) {
	t.Helper()
	testutil.Root(t)
	testutil.Guest(t)
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		testutil.Missing(t, "qemu-system-x86_64 (Debian package qemu-system-x86): %v", err)
	}
	becomeSubreaper(t)
	bin := labBinary(t)
	env := []string{}
	if b := os.Getenv("TWINBOOT_BUILD"); b != "" {
		env = append(env, "TWINBOOT_BUILD="+b)
	} else if abs, err := filepath.Abs("../../build"); err == nil {
		env = append(env, "TWINBOOT_BUILD="+abs)
	}
	l := startLab(t, 120, 40, env, bin, "lab", "--export", t.TempDir())
	return l, l.waitFor("both READY", 10*time.Minute, bothReady)
}

// bothReady is true on a screen where a run has finished with every figure in.
func bothReady(s string) bool {
	return strings.Contains(s, "[idle] run") && !strings.Contains(s, "waiting…")
}

// TestLabEndToEnd is the end-to-end check: start `twinboot lab`,
// wait for both READY, press r, then q; check the screen, and that nothing
// the lab started is left running. On hosts without hardware KVM (ours, CI)
// the lab runs in nested mode, which takes minutes under emulation.
func TestLabEndToEnd(t *testing.T) {
	l, s := startLiveLab(t)
	checkBothReady(t, s)

	l.keys("r")
	l.waitFor("the re-run to start", time.Minute, func(s string) bool { return strings.Contains(s, "[run in progress]") })
	s = l.waitFor("both READY again", 10*time.Minute, bothReady)
	checkBothReady(t, s)

	if code := l.quit(3 * time.Minute); code != 0 {
		t.Errorf("lab exit status %d:\n%s", code, l.screen())
	}
	if left := leftovers(t); len(left) > 0 {
		t.Errorf("processes left after the lab quit: %v", left)
	}
}

func checkBothReady(t *testing.T, s string) {
	t.Helper()
	if !strings.Contains(s, "[idle] run finished") {
		t.Errorf("the run did not finish cleanly:\n%s", s)
	}
	for _, want := range []string{"kernel shared with host: NO", "kernel shared with host: YES", "kernels in RAM: 2"} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "FAILED") {
		t.Errorf("a side failed:\n%s", s)
	}
}

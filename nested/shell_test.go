package nested_test

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/testutil"
	"github.com/twinboot/twinboot/nested"
	"github.com/twinboot/twinboot/nested/nestedtest"
)

// interrupted types a command that would run for ever, Ctrl-C, a command
// that shows the shell is still there, and then script. Ctrl-C must stop
// the shell's foreground job (the guest's tty, or the pty in L1, signals
// it), not the VM or the container.
func interrupted(script string) []step {
	return []step{
		{report.Prefix, ""}, {"# ", "echo sleeping; sleep 600\r"},
		// "sleeping" printed (not echoed: the echo has a ';' after it)
		// means sleep is about to start; the pause lets it, so that
		// Ctrl-C is not taken by the shell before the fork.
		{"sleeping\r\n", ""}, {"", pause},
		{"", "\x03"}, {"# ", "echo after-$((1+1))\r"}, {"after-2\r\n", ""},
		{"# ", script},
	}
}

// pause, as a step's keys, waits two seconds instead of typing.
const pause = "\x00pause"

// step waits for text on the screen (after the previous step's), then
// types keys.
type step struct{ wait, keys string }

func typeSteps(ctx context.Context, sc *testutil.Screen, steps ...step) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		defer pw.Close()
		at := 0
		for _, st := range steps {
			var ok bool
			if at, ok = sc.WaitFor(ctx, at, st.wait); !ok {
				return
			}
			switch st.keys {
			case "":
			case pause:
				time.Sleep(2 * time.Second)
			default:
				pw.Write([]byte(st.keys))
			}
		}
	}()
	return pr
}

// l1Processes lists L1's user processes other than init and the listing
// itself: what a finished shell must not leave behind.
func l1Processes(t *testing.T, s *nestedtest.Session) []string {
	t.Helper()
	res := s.Exec(t, nested.Job{Path: "/bin/sh", Args: []string{"-c",
		`for p in /proc/[0-9]*; do [ "${p#/proc/}" = 1 ] || [ "${p#/proc/}" = $$ ] || [ ! -s $p/cmdline ] || echo "${p#/proc/} $(tr '\0' ' ' < $p/cmdline)"; done`}})
	var left []string
	for _, l := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || f[1] == "tr" || strings.Contains(l, "/proc/[0-9]") {
			continue // the listing's own subshell and tr
		}
		left = append(left, l)
	}
	return left
}

// TestShellThroughL1 opens the lab's shells through nested mode's
// transport: keys go into L1 in input frames, the VM's serial console and
// the container's pty come back. One L1 boot serves every case.
func TestShellThroughL1(t *testing.T) {
	if host.InsideL1() {
		t.Skip("already inside L1")
	}
	opt := nestedtest.Options(t)
	s := nestedtest.Boot(t, opt)
	l1 := s.Exec(t, nested.Job{Path: "/bin/sh", Args: []string{"-c", "hostname; uname -r"}})
	l1Lines := strings.Fields(l1.Stdout)
	if len(l1Lines) != 2 || l1Lines[0] != nested.L1Hostname {
		t.Fatalf("L1 says %q, want its hostname %s and kernel release", l1.Stdout, nested.L1Hostname)
	}
	l1Release := l1Lines[1]
	const script = "echo hi-$((6*7)); hostname; uname -r; exit 3\r"
	shellCmdline := strings.Replace(hypervisor.DefaultCmdline, "twinboot.mode=poweroff", "twinboot.mode=shell", 1)

	t.Run("vm", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		var console testutil.Screen
		res := s.Exec(t, nested.Job{
			Args:   []string{"vm", "--stdin", "--timeout=5m", "--cmdline=" + shellCmdline},
			Stdin:  typeSteps(ctx, &console, interrupted(script)...),
			Stderr: &console,
		})
		out := console.String()
		t.Logf("VM console as the student sees it:\n%s", out)
		if res.Code != 0 {
			t.Fatalf("twinboot vm exited %d; console:\n%s\nstdout:\n%s", res.Code, out, res.Stdout)
		}
		hostname, release := answers(t, out)
		if hostname == nested.L1Hostname || release == l1Release {
			t.Errorf("the VM answered hostname %q and release %q, L1's are %q and %q: the shell ran in L1, not in the VM", hostname, release, nested.L1Hostname, l1Release)
		}
		// The guest's shell status reaches the exit port: the probe powers
		// the VM off with it.
		if !strings.Contains(res.Stdout, "(status 3)") {
			t.Errorf("summary does not show the shell's status 3:\n%s", res.Stdout)
		}
		if left := l1Processes(t, s); len(left) > 0 {
			t.Errorf("processes left in L1: %q", left)
		}
	})

	t.Run("container", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var term testutil.Screen
		res := s.Exec(t, nested.Job{
			Args:    []string{"ct", "run", "--read-only", "--timeout=4m", "--", "/init", "--mode", "shell"},
			TTY:     true,
			FreeTTY: true, // for the probe's shell, as the lab does
			// Ctrl-C interrupts the shell's foreground job (the pty's
			// line discipline signals it), and the shell, like the
			// container, goes on.
			Stdin:  typeSteps(ctx, &term, interrupted(script)...),
			Stdout: &term,
		})
		out := term.String()
		t.Logf("container terminal as the student sees it:\n%s", out)
		if res.Code != 3 {
			t.Fatalf("ct run exited %d, want the shell's status 3; terminal:\n%s", res.Code, out)
		}
		hostname, release := answers(t, out)
		if hostname == nested.L1Hostname {
			t.Errorf("the container answered hostname %q, L1's: no UTS namespace?", hostname)
		}
		if release != l1Release {
			t.Errorf("the container answered release %q, L1's is %q: a container shares its kernel", release, l1Release)
		}
		// The pty echoes what was typed, as a terminal does.
		if !strings.Contains(out, "echo hi-$((6*7))") {
			t.Errorf("no echo of the typed line in:\n%s", out)
		}
		if strings.Contains(out, "job control turned off") {
			t.Errorf("the container's shell has no controlling terminal:\n%s", out)
		}
		if left := l1Processes(t, s); len(left) > 0 {
			t.Errorf("processes left in L1: %q", left)
		}
	})

	// A key typed once the job no longer takes input (here it closed its
	// stdin, as a shell that has run exit no longer reads) is not lost: it
	// comes back through Job.Unread, and the host's reader is released.
	t.Run("late-key", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		defer w.Close()
		keys, err := nested.OpenKeys(r)
		if err != nil {
			t.Fatal(err)
		}
		defer keys.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var term testutil.Screen
		go func() {
			if _, ok := term.WaitFor(ctx, 0, "closed"); ok {
				w.Write([]byte("q"))
			}
		}()
		var unread []byte
		res := s.Exec(t, nested.Job{Path: "/bin/sh", Args: []string{"-c", "exec 0<&-; echo closed; sleep 2"},
			Stdin: &nested.EscapeReader{R: keys.R, Stop: func() {}}, Stdout: &term,
			Unread: func(b []byte) { unread = append(unread, b...) }})
		if res.Code != 0 {
			t.Fatalf("job exited %d: %s", res.Code, term.String())
		}
		if string(unread) != "q" {
			t.Errorf("unread %q, want the q typed after the job stopped reading", unread)
		}
	})

	// The escape key: Stop ends a shell that would run for ever, and L1
	// stays up for the next job.
	t.Run("stop", func(t *testing.T) {
		for _, args := range [][]string{
			{"vm", "--stdin", "--timeout=0", "--cmdline=" + shellCmdline},
			{"ct", "run", "--read-only", "--timeout=0", "--", "/init", "--mode", "shell"},
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			var term testutil.Screen
			stop := make(chan struct{})
			go func() {
				if at, ok := term.WaitFor(ctx, 0, report.Prefix); ok {
					if _, ok := term.WaitFor(ctx, at, "# "); ok {
						close(stop)
					}
				}
			}()
			pr, pw := io.Pipe() // keys that never come
			res := s.Exec(t, nested.Job{Args: args, Stdin: pr, Stop: stop, TTY: args[0] == "ct", FreeTTY: true, Stdout: &term, Stderr: &term})
			pw.Close()
			cancel()
			select {
			case <-stop:
			default:
				t.Fatalf("%s ended (%d) before it was stopped:\n%s", args[0], res.Code, term.String())
			}
			t.Logf("%s stopped with status %d", args[0], res.Code)
			if left := l1Processes(t, s); len(left) > 0 {
				t.Errorf("processes left in L1 after stopping %s: %q", args[0], left)
			}
		}
	})
}

// answers finds the shell's answers to the script: the line after hi-42
// is the hostname, the next the kernel release.
func answers(t *testing.T, out string) (hostname, release string) {
	t.Helper()
	lines := strings.Split(strings.ReplaceAll(out, "\r", ""), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "hi-42" && i+2 < len(lines) {
			return strings.TrimSpace(lines[i+1]), strings.TrimSpace(lines[i+2])
		}
	}
	t.Fatalf("no hi-42 line (the arithmetic ran in a shell) in:\n%s", out)
	return "", ""
}

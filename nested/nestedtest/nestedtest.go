package nestedtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/testutil"
	"github.com/twinboot/twinboot/nested"
)

// EnvBinary overrides the twinboot binary put into L1 (default
// <build>/bin/twinboot, which `make bin` builds).
const EnvBinary = "TWINBOOT_BINARY"

// Result is what a job in L1 produced.
type Result struct {
	Code   int
	Events []event.Event
	Stdout string
	Stderr string
	Boot   nested.BootTimes
}

// Options returns L1 options for tests, or skips (fails under make test)
// when QEMU or a static twinboot binary is missing. Timeouts are generous:
// CI machines and a busy host slow emulation down a lot.
func Options(t testing.TB) nested.Options {
	t.Helper()
	if _, err := nested.LookQEMU(""); err != nil {
		testutil.Missing(t, "%v", err)
	}
	bin := os.Getenv(EnvBinary)
	if bin == "" {
		bin = filepath.Join(guest.BuildDir(), "bin", "twinboot")
	}
	if _, err := os.Stat(bin); err != nil {
		testutil.Missing(t, "twinboot binary for L1: %v (run 'make bin' or set %s)", err, EnvBinary)
	}
	return nested.Options{
		BuildDir:    guest.BuildDir(),
		Binary:      bin,
		BootTimeout: 5 * time.Minute,
		Console:     &testLog{t: t, prefix: "L1 console: "},
		Sink:        func(ev event.Event) { t.Logf("%v", describe(ev)) },
	}
}

// Session is a booted L1 shared by several jobs (and subtests) of one test.
type Session struct {
	s *nested.Session
}

// Boot boots L1 with opt and closes it when the test ends.
func Boot(t *testing.T, opt nested.Options) *Session {
	t.Helper()
	ctx := context.Background()
	m, err := nested.Prepare(ctx, opt)
	if errors.Is(err, nested.ErrNoKernel) {
		testutil.Missing(t, "%v", err)
	}
	if err != nil {
		t.Fatalf("prepare L1: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	s, err := m.Boot(ctx)
	if err != nil {
		t.Fatalf("boot L1: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	t.Logf("L1 ready after %.1f s (emulated)", s.Times.Ready.Seconds())
	return &Session{s: s}
}

// Times is how long L1 took to boot.
func (s *Session) Times() nested.BootTimes { return s.s.Times }

// Run runs `twinboot <args>` in L1. A transport failure (L1 hung or died)
// fails t; a non-zero exit status is returned for the test to judge.
func (s *Session) Run(t testing.TB, args ...string) Result {
	t.Helper()
	return s.Exec(t, nested.Job{Args: args})
}

// Exec runs any job in L1 (Path, Args, Env, Stdin, TTY, Stop; Sink is
// filled in; Stdout and Stderr are captured, and also copied to the job's
// own writers when set).
func (s *Session) Exec(t testing.TB, job nested.Job) Result {
	t.Helper()
	var res Result
	var mu sync.Mutex
	var stdout, stderr bytes.Buffer
	job.Sink = func(ev event.Event) {
		mu.Lock()
		res.Events = append(res.Events, ev)
		mu.Unlock()
	}
	// Writers the caller set (a test watching a shell's prompt) see the
	// output as it comes, besides the captured copy.
	job.Stdout, job.Stderr = tee(&stdout, job.Stdout), tee(&stderr, job.Stderr)
	code, err := s.s.Run(context.Background(), job)
	res.Code, res.Stdout, res.Stderr, res.Boot = code, stdout.String(), stderr.String(), s.s.Times
	if err != nil {
		t.Fatalf("in L1: %v\nstdout:\n%s\nstderr:\n%s", err, res.Stdout, res.Stderr)
	}
	return res
}

// Run boots L1, runs `twinboot <args>` in it and returns the result.
func Run(t *testing.T, args ...string) Result {
	t.Helper()
	return Boot(t, Options(t)).Run(t, args...)
}

// testLog writes complete lines to t.Log.
type testLog struct {
	mu     sync.Mutex
	t      testing.TB
	prefix string
	buf    []byte
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		line := bytes.TrimRight(l.buf[:i], "\r")
		if len(line) > 0 {
			l.t.Log(l.prefix + string(line))
		}
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

func describe(ev event.Event) string {
	if l, ok := ev.(event.Log); ok {
		return l.Msg
	}
	b, err := event.Marshal(ev)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func tee(capture *bytes.Buffer, w io.Writer) io.Writer {
	if w == nil {
		return capture
	}
	return io.MultiWriter(capture, w)
}

package nested_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/twinboot/twinboot/internal/host"

	"github.com/twinboot/twinboot/nested"
	"github.com/twinboot/twinboot/nested/nestedtest"
)

// arrivals reports every write's size on a channel.
type arrivals chan int

func (a arrivals) Write(p []byte) (int, error) {
	a <- len(p)
	return len(p), nil
}

// BenchmarkKeyEchoThroughL1 measures what a student feels typing into a
// shell in nested mode: one key from the host to a pty in L1 and its echo
// back (host → QEMU → ttyS1 → L1's init → pty → init → ttyS1 → host).
// The figure is emulated time: it depends on QEMU's software CPU.
//
//	go test -run '^$' -bench KeyEcho -benchtime 50x ./nested/
func BenchmarkKeyEchoThroughL1(b *testing.B) {
	if host.InsideL1() {
		b.Skip("already inside L1")
	}
	opt := nestedtest.Options(b)
	opt.Console = nil
	ctx := context.Background()
	m, err := nested.Prepare(ctx, opt)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	s, err := m.Boot(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()

	pr, pw := io.Pipe()
	echo := make(arrivals, 1024)
	done := make(chan error, 1)
	go func() {
		_, err := s.Run(ctx, nested.Job{Path: "/bin/cat", TTY: true, Stdin: pr, Stdout: echo})
		done <- err
	}()
	key := func() time.Duration {
		start := time.Now()
		pw.Write([]byte{'k'})
		select {
		case <-echo:
		case <-time.After(time.Minute):
			b.Fatal("no echo within a minute")
		}
		return time.Since(start)
	}
	key() // the first key also waits for cat to start
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key()
	}
	b.StopTimer()
	// End the line, then EOF (Ctrl-D on the pty, now at a line's start),
	// and cat ends.
	pw.Write([]byte{'\r'})
	pw.Close()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

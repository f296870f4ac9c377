package nested

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// hostLink is the two ends of a fake ttyS1: the test writes frames as the
// host would and reads what "L1" (readHost and runJob, in this process)
// sends back.
type hostLink struct {
	t      *testing.T
	toL1   *frameWriter
	mu     sync.Mutex
	out    bytes.Buffer // decoded stdout of the jobs
	exits  chan exitMsg
	unread chan inputMsg
}

func newHostLink(t *testing.T) (*hostLink, chan jobMsg, *currentJob, *frameWriter) {
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	h := &hostLink{t: t, toL1: &frameWriter{w: inW}, exits: make(chan exitMsg, 8), unread: make(chan inputMsg, 8)}
	fw := &frameWriter{w: outW}
	jobs := make(chan jobMsg, 4)
	cur := &currentJob{}
	readerDone := make(chan struct{})
	go func() { readHost(inR, fw, jobs, cur); close(readerDone) }()
	go func() {
		br := bufio.NewReader(outR)
		for {
			line, err := br.ReadBytes('\n')
			if err != nil {
				return
			}
			tag, pay, ok := parseFrame(bytes.TrimSuffix(line, []byte("\n")))
			if !ok {
				continue
			}
			switch tag {
			case tagStdout, tagStderr:
				b, _ := base64.StdEncoding.DecodeString(string(pay))
				h.mu.Lock()
				h.out.Write(b)
				h.mu.Unlock()
			case tagExit:
				var x exitMsg
				json.Unmarshal(pay, &x)
				h.exits <- x
			case tagUnread:
				var m inputMsg
				json.Unmarshal(pay, &m)
				h.unread <- m
			}
		}
	}()
	t.Cleanup(func() {
		inW.Close()
		<-readerDone
		inR.Close()
		outW.Close()
		outR.Close()
	})
	return h, jobs, cur, fw
}

func (h *hostLink) output() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.out.String()
}

// waitOutput waits until the jobs' output holds want.
func (h *hostLink) waitOutput(want string) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(h.output(), want) {
		if time.Now().After(deadline) {
			h.t.Fatalf("output %q never held %q", h.output(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runOne takes the next job from jobs and runs it as L1's init would.
func runOne(t *testing.T, jobs chan jobMsg, cur *currentJob, fw *frameWriter) <-chan exitMsg {
	res := make(chan exitMsg, 1)
	go func() {
		job, ok := <-jobs
		if !ok {
			res <- exitMsg{Code: -1, Err: "no job"}
			return
		}
		res <- runJob(fw, job, cur)
	}()
	return res
}

func waitExit(t *testing.T, c <-chan exitMsg) exitMsg {
	t.Helper()
	select {
	case x := <-c:
		return x
	case <-time.After(30 * time.Second):
		t.Fatal("the job did not end")
	}
	return exitMsg{}
}

// A job with Stdin reads what the host sends, in order, until the EOF
// frame; input for another job id and malformed frames are dropped, not
// fatal.
func TestJobStdinRelay(t *testing.T) {
	h, jobs, cur, fw := newHostLink(t)
	res := runOne(t, jobs, cur, fw)
	h.toL1.json(tagJob, jobMsg{ID: 1, Path: "/bin/sh", Args: []string{"-c", "echo started; cat; exit 3"}, Stdin: true})
	h.waitOutput("started")
	h.toL1.json(tagInput, inputMsg{ID: 2, Data: []byte("not mine\n")})
	h.toL1.raw(tagInput, []byte("{not json"))
	h.toL1.raw(tagStop, []byte("[]"))
	h.toL1.json(tagInput, inputMsg{ID: 1, Data: []byte("line one\n")})
	h.toL1.json(tagInput, inputMsg{ID: 1, Data: []byte("line two\n"), EOF: true})
	x := waitExit(t, res)
	if x.Code != 3 || x.Err != "" {
		t.Fatalf("exit %+v, want code 3", x)
	}
	if got := h.output(); got != "started\nline one\nline two\n" {
		t.Fatalf("output %q", got)
	}
}

// Keys the host sends right behind the job frame, before L1 has started
// the job, are kept for it, not lost.
func TestJobEarlyInput(t *testing.T) {
	h, jobs, cur, fw := newHostLink(t)
	h.toL1.json(tagJob, jobMsg{ID: 4, Path: "/bin/sh", Args: []string{"-c", "sleep 0.2; cat"}, Stdin: true})
	h.toL1.json(tagInput, inputMsg{ID: 4, Data: []byte("early\n"), EOF: true})
	time.Sleep(100 * time.Millisecond) // let the reader take both frames first
	x := waitExit(t, runOne(t, jobs, cur, fw))
	if x.Code != 0 || h.output() != "early\n" {
		t.Fatalf("exit %+v, output %q; want 0 and the early input", x, h.output())
	}
}

// Keys sent once a job no longer takes them (it closed its stdin, or it
// has exited) are kept in L1 and come back to the host with its fence;
// another job's fence, or a second one, gets nothing.
func TestJobFenceReturnsUnread(t *testing.T) {
	h, jobs, cur, fw := newHostLink(t)
	res := runOne(t, jobs, cur, fw)
	h.toL1.json(tagJob, jobMsg{ID: 5, Path: "/bin/sh", Args: []string{"-c", "exec 0<&-; echo closed; sleep 0.3"}, Stdin: true})
	h.waitOutput("closed")
	h.toL1.json(tagInput, inputMsg{ID: 5, Data: []byte("b")}) // the job no longer reads
	if x := waitExit(t, res); x.Code != 0 {
		t.Fatalf("exit %+v", x)
	}
	h.toL1.json(tagInput, inputMsg{ID: 5, Data: []byte("q")}) // after the exit frame
	h.toL1.json(tagInput, inputMsg{ID: 4, Data: []byte("x")}) // an older job's
	h.toL1.json(tagFence, stopMsg{ID: 5})
	h.toL1.json(tagFence, stopMsg{ID: 5})
	h.toL1.json(tagFence, stopMsg{ID: 3})
	for i, want := range []string{"bq", "", ""} {
		select {
		case m := <-h.unread:
			if string(m.Data) != want {
				t.Errorf("fence %d: unread %q, want %q", i, m.Data, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("fence %d: no answer", i)
		}
	}
}

// A TTY job has a terminal with a line discipline: it echoes what is typed,
// turns the Enter key's CR into a newline, and sizes the terminal as asked.
func TestJobTTY(t *testing.T) {
	if _, err := os.Stat("/dev/pts/ptmx"); err != nil {
		t.Skipf("no devpts here: %v", err)
	}
	h, jobs, cur, fw := newHostLink(t)
	res := runOne(t, jobs, cur, fw)
	h.toL1.json(tagJob, jobMsg{ID: 7, Path: "/bin/sh",
		Args: []string{"-c", "stty size; (exec 3</dev/tty) 2>/dev/null && echo has-ctty; [ -t 0 ] && echo is-a-tty; read x; echo got-$x; exit 4"},
		TTY:  true, Rows: 33, Cols: 101})
	h.waitOutput("is-a-tty")
	h.toL1.json(tagInput, inputMsg{ID: 7, Data: []byte("abc\r")})
	x := waitExit(t, res)
	if x.Code != 4 {
		t.Fatalf("exit %+v, want code 4; output %q", x, h.output())
	}
	out := h.output()
	for _, want := range []string{"33 101", "has-ctty", "abc\r\n", "got-abc"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
}

// With FreeTTY the pty is still the job's stdin, but not its controlling
// terminal: a new session inside the job (the probe's shell) can take it.
func TestJobFreeTTY(t *testing.T) {
	if _, err := os.Stat("/dev/pts/ptmx"); err != nil {
		t.Skipf("no devpts here: %v", err)
	}
	h, jobs, cur, fw := newHostLink(t)
	res := runOne(t, jobs, cur, fw)
	h.toL1.json(tagJob, jobMsg{ID: 2, Path: "/bin/sh", TTY: true, FreeTTY: true,
		Args: []string{"-c", "(exec 3</dev/tty) 2>/dev/null || echo no-ctty; [ -t 0 ] && echo is-a-tty"}})
	if x := waitExit(t, res); x.Code != 0 {
		t.Fatalf("exit %+v", x)
	}
	if out := h.output(); !strings.Contains(out, "no-ctty") || !strings.Contains(out, "is-a-tty") {
		t.Fatalf("output %q, want no controlling terminal but a tty on stdin", out)
	}
}

// A stop frame ends a job that would run for ever, and only the current one.
func TestJobStop(t *testing.T) {
	h, jobs, cur, fw := newHostLink(t)
	res := runOne(t, jobs, cur, fw)
	h.toL1.json(tagJob, jobMsg{ID: 9, Path: "/bin/sh", Args: []string{"-c", "echo up; exec sleep 600"}})
	h.waitOutput("up")
	h.toL1.json(tagStop, stopMsg{ID: 8})
	h.toL1.json(tagStop, stopMsg{ID: 9})
	x := waitExit(t, res)
	if x.Code != -1 || !strings.Contains(x.Err, "terminated") {
		t.Fatalf("exit %+v, want killed by SIGTERM", x)
	}
}

// A quit frame, or the host going away, ends readHost (and so L1's job
// loop); a frame-looking kernel line in between is ignored.
func TestReadHostQuit(t *testing.T) {
	r := strings.NewReader("[ 1.0] TB1:job:{}\nTB1:job:{bad\nTB1:quit:\nTB1:job:{\"id\":1}\n")
	var out bytes.Buffer
	jobs := make(chan jobMsg, 4)
	readHost(r, &frameWriter{w: &out}, jobs, &currentJob{})
	if n := len(jobs); n != 0 {
		t.Fatalf("%d jobs passed, want none", n)
	}
	if !strings.Contains(out.String(), "TB1:exit:") || !strings.Contains(out.String(), "bad job") {
		t.Fatalf("a bad job frame should be answered with an exit frame, got %q", out.String())
	}
	readHost(io.LimitReader(strings.NewReader("TB1:in:{}\n"), 5), &frameWriter{w: &out}, make(chan jobMsg), &currentJob{})
}

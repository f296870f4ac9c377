package nested

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/reexec"
)

// Session is one running L1. Jobs run one after another; several L2 runs
// can share one boot.
type Session struct {
	m       *Machine
	cmd     *exec.Cmd
	started time.Time
	toL1    *os.File     // QEMU's stdin: frames to L1
	fw      *frameWriter // on toL1; one writer, so frames never interleave
	frames  chan frame   // from L1; closed when QEMU's stdout ends
	exited  chan struct{}
	exitErr error
	console *consoleTail
	// consoleDone is closed when the console copier is finished: Close
	// waits for it, so that Options.Console (a test's log, say) is never
	// written to after Close returns.
	consoleDone chan struct{}
	qemuErr     *consoleTail
	stage       stageMsg // how far L1 got, for error messages
	ids         int
	once        sync.Once
	dead        bool

	// Times is how long L1 took, on the host's clock from QEMU's start:
	// until init ran and until it was ready (modules loaded). UptimeS is
	// L1's own clock when ready. All of it is emulated time.
	Times BootTimes
}

// BootTimes is L1's boot, measured on the host's monotonic clock.
type BootTimes struct {
	Init    time.Duration `json:"init_ns"`
	Ready   time.Duration `json:"ready_ns"`
	UptimeS float64       `json:"l1_uptime_s"`
	// ReadyCPU is the CPU time QEMU had used when L1 was ready: the work
	// of emulating the boot, which, unlike Ready, does not grow when other
	// programs compete for the host's cores.
	ReadyCPU time.Duration `json:"ready_cpu_ns"`
}

type frame struct {
	tag     string
	payload []byte
}

// Job is one program to run in L1.
type Job struct {
	Path   string   // in L1; default /bin/twinboot
	Args   []string // argv[1:]
	Env    []string // added to L1's job environment
	Sink   event.Sink
	Stdout io.Writer
	Stderr io.Writer

	// Stdin, when set, is relayed to the job's standard input as it is
	// read; its end (EOF or an error) closes that input. Without it the job
	// reads /dev/null.
	Stdin io.Reader
	// TTY runs the job on a pseudo-terminal inside L1: an interactive
	// shell there gets echo, line editing and Ctrl-C. Stdout then carries
	// everything the job writes (as a terminal would show it), Stderr
	// nothing. Rows and Cols size it (0: 24x80).
	TTY        bool
	Rows, Cols uint16
	// FreeTTY (with TTY) does not make the pty the job's controlling
	// terminal. Normally it is, so that Ctrl-C signals the foreground job
	// of the job's session: right for a shell that twinboot ct run starts
	// directly. The probe's shell mode instead starts the shell in a new
	// session of its own, which can take the pty only while it is free;
	// were it the runtime's, Ctrl-C would reach the runtime and end the
	// whole container.
	FreeTTY bool
	// Timeout, when not zero, bounds the job and, when the job is the one
	// that boots L1 (L1.Run), that boot too. Zero: no bound but
	// Options.BootTimeout, which is right for an interactive shell.
	Timeout time.Duration
	// Unread, when set, gets the input the job never took once it is over:
	// keys read from Stdin after the job ended (a key pressed just as a
	// shell exits), which belong to whoever reads the terminal next.
	Unread func([]byte)
	// Stop, when closed, asks L1 to end the job early (SIGTERM, then
	// SIGKILL after a grace period); Run still waits for it to exit, so
	// that L1 stays usable for the next job, and returns its status (-1
	// when the signal ended it) without an error. Cancelling Run's ctx
	// instead kills QEMU.
	Stop <-chan struct{}
}

// Boot starts QEMU and waits until L1's init has loaded the modules and
// waits for jobs. The session must be closed.
func (m *Machine) Boot(ctx context.Context) (*Session, error) {
	if m.initrd == nil {
		return nil, fmt.Errorf("%w: the machine is closed", ErrStopped)
	}
	s := &Session{
		m:       m,
		frames:  make(chan frame, 64),
		exited:  make(chan struct{}),
		console: newTail(16 << 10),
		qemuErr: newTail(8 << 10),
		stage:   stageMsg{Name: "QEMU start: firmware and kernel boot, before init ran"},
	}
	conR, conW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("nested: %w", err)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		conR.Close()
		conW.Close()
		return nil, fmt.Errorf("nested: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		conR.Close()
		conW.Close()
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("nested: %w", err)
	}
	s.toL1 = inW
	s.fw = &frameWriter{w: inW}
	cmd := exec.Command(m.QEMU, m.qemuArgs()...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, s.qemuErr
	cmd.ExtraFiles = []*os.File{conW, m.initrd} // fds 3 and initrdFD
	// Own process group, so that a terminal's Ctrl-C reaches twinboot (which
	// then kills QEMU and cleans up) rather than QEMU alone; started pinned,
	// so that QEMU dies with twinboot even when twinboot is SIGKILLed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.cmd = cmd
	s.started = time.Now()
	err = reexec.StartPinned(cmd, func(err error) {
		s.exitErr = err
		close(s.exited)
	})
	inR.Close()
	outW.Close()
	conW.Close()
	if err != nil {
		conR.Close()
		outR.Close()
		inW.Close()
		return nil, fmt.Errorf("nested: start %s: %w", m.QEMU, err)
	}
	var console io.Writer = s.console
	if m.opt.Console != nil {
		console = io.MultiWriter(s.console, m.opt.Console)
	}
	s.consoleDone = make(chan struct{})
	go func() {
		defer close(s.consoleDone)
		io.Copy(console, conR)
		conR.Close()
	}()
	go s.readFrames(outR)

	bctx, cancel := context.WithTimeout(ctx, m.opt.BootTimeout)
	defer cancel()
	if err := s.waitReady(bctx, ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Session) readFrames(r *os.File) {
	defer close(s.frames)
	defer r.Close()
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			if tag, payload, ok := parseFrame(line[:len(line)-1]); ok {
				s.frames <- frame{tag, payload}
			}
		}
		if err != nil {
			return
		}
	}
}

func (s *Session) waitReady(bctx, ctx context.Context) error {
	sink := s.m.opt.Sink
	for {
		f, err := s.next(bctx, "booting L1")
		if err != nil {
			if ctx.Err() == nil && errors.Is(bctx.Err(), context.DeadlineExceeded) {
				err = s.failure(ErrTimeout, fmt.Sprintf("L1 was not ready within the boot timeout (%s)", s.m.opt.BootTimeout))
			}
			return err
		}
		var msg stageMsg
		switch f.tag {
		case tagHello, tagStage, tagReady:
			if err := json.Unmarshal(f.payload, &msg); err != nil {
				continue
			}
			s.stage = msg
		default:
			continue
		}
		switch f.tag {
		case tagHello:
			s.Times.Init = time.Since(s.started)
			sink.Emit(event.Log{Msg: fmt.Sprintf("nested: L1 init running after %.1f s (emulated)", s.Times.Init.Seconds())})
		case tagStage:
			if msg.Err != "" {
				sink.Emit(event.Log{Msg: fmt.Sprintf("nested: L1 %s: %s", msg.Name, msg.Err)})
			}
		case tagReady:
			s.Times.Ready = time.Since(s.started)
			s.Times.ReadyCPU = processCPU(s.cmd.Process.Pid)
			s.Times.UptimeS = msg.UptimeS
			if msg.Err != "" {
				return s.failure(ErrNotUp, msg.Err)
			}
			sink.Emit(event.Log{Msg: fmt.Sprintf("nested: L1 ready with /dev/kvm (kvm-amd) after %.1f s (emulated)", s.Times.Ready.Seconds())})
			return nil
		}
	}
}

// next returns L1's next frame. When QEMU exits or ctx ends, QEMU is killed
// and the error says what L1 was doing.
func (s *Session) next(ctx context.Context, doing string) (frame, error) {
	if s.dead {
		return frame{}, fmt.Errorf("%w: this L1 session has ended", ErrStopped)
	}
	select {
	case f, ok := <-s.frames:
		if ok {
			return f, nil
		}
		s.kill()
		return frame{}, s.failure(ErrStopped, fmt.Sprintf("QEMU exited (%v) while %s", exitText(s.exitErr), doing))
	case <-s.console.fatal:
		s.kill()
		return frame{}, s.failure(ErrStopped, fmt.Sprintf("its kernel halted (%q on the console) while %s", s.console.fatalLine, doing))
	case <-ctx.Done():
		s.kill()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return frame{}, s.failure(ErrTimeout, "deadline reached while "+doing)
		}
		return frame{}, s.failure(ctx.Err(), "interrupted while "+doing)
	}
}

// processCPU returns the user and system time pid has used so far, or 0.
func processCPU(pid int) time.Duration {
	st, _ := host.ReadProcStat(pid)
	return st.CPU
}

func exitText(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

// failure builds an error that says where L1 stopped, with the end of its
// console and of QEMU's own messages.
func (s *Session) failure(kind error, what string) error {
	if s.dead {
		// QEMU is gone; let the console copier catch up on its last lines.
		select {
		case <-s.consoleDone:
		case <-time.After(time.Second):
		}
	}
	where := fmt.Sprintf("L1 stopped after %q", s.stage.Name)
	if s.stage.UptimeS > 0 {
		where += fmt.Sprintf(" at %.1f s of L1 uptime", s.stage.UptimeS)
	}
	if s.stage.Err != "" {
		where += " (" + s.stage.Err + ")"
	}
	msg := fmt.Sprintf("%v: %s, %.1f s after QEMU started; %s\n  %s", kind, what, time.Since(s.started).Seconds(), where, s.console.describe("last console lines", 12))
	if q := s.qemuErr.Lines(6); len(q) > 0 {
		msg += "\n  " + s.qemuErr.describe("QEMU said", 6)
	}
	return &stopError{kind: kind, msg: msg}
}

type stopError struct {
	kind error
	msg  string
}

func (e *stopError) Error() string { return e.msg }
func (e *stopError) Unwrap() error { return e.kind }

// Run sends one job to L1 and relays its events, stdout and stderr until it
// exits. It returns the job's exit status. If ctx ends first, QEMU is
// killed and the session is over.
func (s *Session) Run(ctx context.Context, job Job) (int, error) {
	s.ids++
	id := s.ids
	what := strings.Join(append([]string{job.Path}, job.Args...), " ")
	if job.Path == "" {
		what = strings.Join(append([]string{"twinboot"}, job.Args...), " ")
	}
	msg := jobMsg{ID: id, Path: job.Path, Args: job.Args, Env: job.Env,
		Stdin: job.Stdin != nil, TTY: job.TTY, FreeTTY: job.FreeTTY, Rows: job.Rows, Cols: job.Cols}
	if s.dead {
		return -1, fmt.Errorf("%w: this L1 session has ended", ErrStopped)
	}
	if err := s.fw.json(tagJob, msg); err != nil {
		s.kill()
		return -1, s.failure(ErrStopped, fmt.Sprintf("sending the job: %v", err))
	}
	over := make(chan struct{})
	defer close(over)
	var pumped chan struct{}
	if job.Stdin != nil {
		pumped = make(chan struct{})
		go func() {
			defer close(pumped)
			s.pumpInput(id, job.Stdin)
		}()
	}
	if job.Stop != nil {
		go func() {
			select {
			case <-job.Stop:
				s.fw.json(tagStop, stopMsg{ID: id})
			case <-over:
			}
		}()
	}
	s.stage = stageMsg{Name: "running " + what, UptimeS: s.stage.UptimeS}
	for {
		f, err := s.next(ctx, "running "+what)
		if err != nil {
			return -1, err
		}
		switch f.tag {
		case tagEvent:
			ev, err := event.Decode(f.payload)
			if err != nil {
				job.Sink.Emit(event.Log{Msg: fmt.Sprintf("nested: undecodable event from L1: %v", err)})
				continue
			}
			job.Sink.Emit(ev)
		case tagStdout, tagStderr:
			w := job.Stdout
			if f.tag == tagStderr {
				w = job.Stderr
			}
			if w == nil {
				continue
			}
			b, err := base64.StdEncoding.DecodeString(string(f.payload))
			if err != nil {
				continue
			}
			w.Write(b)
		case tagExit:
			var x exitMsg
			if err := json.Unmarshal(f.payload, &x); err != nil {
				return -1, fmt.Errorf("nested: bad exit frame %q: %w", f.payload, err)
			}
			if x.ID != 0 && x.ID != id {
				continue
			}
			s.stage = stageMsg{Name: "finished " + what, UptimeS: x.UptimeS}
			if job.Stdin != nil {
				s.fenceInput(ctx, id, job, pumped)
			}
			if x.Err != "" && !stopRequested(job.Stop) {
				return x.Code, fmt.Errorf("nested: %s in L1: %s", what, x.Err)
			}
			return x.Code, nil
		}
	}
}

// stopRequested says whether the caller closed stop: a job it ended (by a
// signal, so with status -1) is then no error.
func stopRequested(stop <-chan struct{}) bool {
	if stop == nil {
		return false
	}
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// pumpInput relays r to job id's stdin until r ends. It goes on after the
// job is over, so that nothing it read is lost: L1 keeps that input for the
// fence (fenceInput). A Read that is pending when the job ends stays
// pending unless r can be stopped (StopReader): callers that go on reading
// the same terminal pass such a reader (OpenKeys).
func (s *Session) pumpInput(id int, r io.Reader) {
	// Small reads: a key press goes out at once; a paste is cut into
	// frames of at most 1 KiB, well under the L1 reader's line buffer.
	buf := make([]byte, 1024)
	for {
		n, err := r.Read(buf)
		msg := inputMsg{ID: id, Data: buf[:n], EOF: err != nil}
		if n > 0 || err != nil {
			if s.fw.json(tagInput, msg) != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// StopReader is a reader that can be told to stop: its pending Read
// returns, and what it read as it stopped comes back instead of going on.
// stopped is false when it could not stop (it wraps a plain reader).
type StopReader interface {
	io.Reader
	StopReading() (late []byte, stopped bool)
}

// fenceTimeout bounds the wait for L1's answer to a fence.
const fenceTimeout = 5 * time.Second

// fenceInput runs when job id has exited: it stops the job's reader (when
// it can), lets the pump send what it still had, then sends a fence frame.
// The serial line keeps frames in order, so L1's answer holds every byte
// sent for the job that the job never took; those, and what the reader
// read as it stopped, go to job.Unread.
func (s *Session) fenceInput(ctx context.Context, id int, job Job, pumped <-chan struct{}) {
	sr, ok := job.Stdin.(StopReader)
	if !ok {
		return // a plain reader may block for ever: nothing to fence
	}
	late, stopped := sr.StopReading()
	if !stopped {
		return
	}
	select {
	case <-pumped:
	case <-time.After(fenceTimeout):
		return
	}
	if s.fw.json(tagFence, stopMsg{ID: id}) != nil {
		return
	}
	// Not s.next: an L1 too old to answer must not cost the session.
	timer := time.NewTimer(fenceTimeout)
	defer timer.Stop()
	for {
		var f frame
		select {
		case fr, ok := <-s.frames:
			if !ok {
				return
			}
			f = fr
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
		if f.tag != tagUnread {
			continue
		}
		var m inputMsg
		if json.Unmarshal(f.payload, &m) != nil || m.ID != id {
			continue
		}
		if b := append(m.Data, late...); len(b) > 0 && job.Unread != nil {
			job.Unread(b)
		}
		return
	}
}

// kill ends QEMU at once: L1 has no disk to corrupt.
func (s *Session) kill() {
	s.dead = true
	if s.cmd.Process != nil {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	}
	<-s.exited
}

// Close powers L1 off (it just kills QEMU) and waits for it. Safe to call
// more than once.
func (s *Session) Close() error {
	s.once.Do(func() {
		if !s.dead {
			s.fw.raw(tagQuit, nil)
		}
		s.kill()
		s.toL1.Close()
		// Drain so the frame reader can finish.
		for range s.frames {
		}
		<-s.consoleDone
	})
	return nil
}

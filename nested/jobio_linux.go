package nested

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// stopGrace is how long a job asked to stop gets to clean up (a container
// removes its cgroup, a VM is torn down) before its process group is killed.
const stopGrace = 5 * time.Second

// tagReader is one of the job's outputs and the frame tag it travels under.
type tagReader struct {
	tag string
	*activeReader
}

// jobIO is the L1 side of a job's standard streams.
type jobIO struct {
	readers   []*tagReader // stdout, stderr (not on a TTY), events
	stdin     *stdinFeed   // nil when the job reads /dev/null
	childEnds []*os.File   // the child's copies, closed once it started
	// hold is our copy of a TTY job's pty slave, kept open after the
	// start: when the last slave descriptor closes, a read of the master
	// fails with EIO at once, and Linux may drop what the job wrote last
	// (still on its way through the tty's buffers). runJob closes hold
	// once the job has exited and the master has gone quiet.
	hold       *os.File
	parentEnds []*os.File // ours, closed when the job is over
}

// newJobIO wires cmd's stdin, stdout, stderr and event descriptor (fd 3).
func newJobIO(cmd *exec.Cmd, job jobMsg) (*jobIO, error) {
	j := &jobIO{}
	evR, evW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipes: %w", err)
	}
	j.track(evR, evW)
	cmd.ExtraFiles = []*os.File{evW}

	if job.TTY {
		ptm, pts, err := openPTY(job.Rows, job.Cols)
		if err != nil {
			j.closeAll()
			return nil, err
		}
		j.parentEnds = append(j.parentEnds, ptm)
		j.hold = pts
		// Normally the pty becomes the job's controlling terminal (fd 0
		// in the child), so that Ctrl-C reaches the foreground process
		// group of the job's session as SIGINT. With FreeTTY it stays
		// nobody's, for a session inside the job to take (Job.FreeTTY).
		if !job.FreeTTY {
			cmd.SysProcAttr.Setctty = true
			cmd.SysProcAttr.Ctty = 0
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
		j.readers = []*tagReader{{tag: tagStdout, activeReader: &activeReader{f: ptm}}}
		j.stdin = newStdinFeed(ptm, true)
	} else {
		outR, outW, err1 := os.Pipe()
		if err1 == nil {
			j.track(outR, outW)
		}
		errR, errW, err2 := os.Pipe()
		if err2 == nil {
			j.track(errR, errW)
		}
		if err := errors.Join(err1, err2); err != nil {
			j.closeAll()
			return nil, fmt.Errorf("pipes: %w", err)
		}
		cmd.Stdout, cmd.Stderr = outW, errW
		j.readers = []*tagReader{
			{tag: tagStdout, activeReader: &activeReader{f: outR}},
			{tag: tagStderr, activeReader: &activeReader{f: errR}},
		}
		if job.Stdin {
			inR, inW, err := os.Pipe()
			if err != nil {
				j.closeAll()
				return nil, fmt.Errorf("pipes: %w", err)
			}
			j.track(inW, inR)
			cmd.Stdin = inR
			j.stdin = newStdinFeed(inW, false)
		}
	}
	j.readers = append(j.readers, &tagReader{tag: tagEvent, activeReader: &activeReader{f: evR}})
	return j, nil
}

func (j *jobIO) track(parent, child *os.File) {
	j.parentEnds = append(j.parentEnds, parent)
	j.childEnds = append(j.childEnds, child)
}

// closeChildEnds drops our copies of the child's descriptors, so that a
// pipe reports end-of-file (and a pty EIO) when the child is done with it.
func (j *jobIO) closeChildEnds() {
	for _, f := range j.childEnds {
		f.Close()
	}
	j.childEnds = nil
}

// releaseHold closes the held pty slave (see hold).
func (j *jobIO) releaseHold() {
	if j.hold != nil {
		j.hold.Close()
		j.hold = nil
	}
}

func (j *jobIO) closeAll() {
	j.closeChildEnds()
	j.releaseHold()
	if j.stdin != nil {
		j.stdin.stop()
	}
	for _, f := range j.parentEnds {
		f.Close()
	}
	j.parentEnds = nil
}

// openPTY allocates a pseudo-terminal pair from L1's devpts. The master is
// non-blocking so that it joins Go's poller: read deadlines (used to cut an
// idle output) and Close then unblock a pending Read or Write.
func openPTY(rows, cols uint16) (master, slave *os.File, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	if rows == 0 || cols == 0 {
		rows, cols = 24, 80
	}
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("pty size: %w", err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	name := fmt.Sprintf("/dev/pts/%d", n)
	slave, err = os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("open %s: %w", name, err)
	}
	return master, slave, nil
}

// stdinFeed writes what the host sends into the job's stdin. It has its own
// goroutine, so that a job that does not read (its pipe is full) never
// stalls the host reader, which must still see a stop request. What it
// could not write (the job had gone) is kept for the host (see unread).
type stdinFeed struct {
	w      *os.File
	tty    bool
	in     chan inputMsg
	done   chan struct{}
	exited chan struct{}
	once   sync.Once
	mu     sync.Mutex
	unread []byte
}

func (f *stdinFeed) keep(b []byte) {
	f.mu.Lock()
	f.unread = append(f.unread, b...)
	f.mu.Unlock()
}

func newStdinFeed(w *os.File, tty bool) *stdinFeed {
	f := &stdinFeed{w: w, tty: tty, in: make(chan inputMsg, 256), done: make(chan struct{}), exited: make(chan struct{})}
	go f.loop()
	return f
}

func (f *stdinFeed) loop() {
	defer close(f.exited)
	// After the end of input, or once the job is gone (a write fails), the
	// loop still drains f.in until stop, so that send never blocks.
	open := true
	for {
		select {
		case m := <-f.in:
			if !open {
				f.keep(m.Data)
				continue
			}
			if len(m.Data) > 0 {
				if _, err := f.w.Write(m.Data); err != nil {
					f.keep(m.Data)
					open = false
					continue
				}
			}
			if m.EOF {
				if !f.tty {
					f.w.Close()
					open = false
					continue
				}
				// A pty has no end-of-file of its own: the line
				// discipline turns its EOF character (Ctrl-D) into one.
				f.w.Write([]byte{4})
			}
		case <-f.done:
			return
		}
	}
}

// send queues m; after stop it is dropped.
func (f *stdinFeed) send(m inputMsg) {
	select {
	case f.in <- m:
	case <-f.done:
	}
}

// stop ends the feed and returns what the job never got: input the feed
// could not write, and input still queued. A write stuck on a full pipe
// is not waited for long: the host reader must go on.
func (f *stdinFeed) stop() []byte {
	f.once.Do(func() { close(f.done) })
	select {
	case <-f.exited:
	case <-time.After(200 * time.Millisecond):
	}
	for {
		select {
		case m := <-f.in:
			f.keep(m.Data)
		default:
			f.mu.Lock()
			defer f.mu.Unlock()
			return append([]byte(nil), f.unread...)
		}
	}
}

// maxUnread bounds what L1 keeps of a finished job's input for the host.
const maxUnread = 4 << 10

// currentJob is what the host reader needs to know of the running job.
// The host sends a job's first keys right after the job frame, before init
// has started it: those wait in pending until the job's stdin exists.
// Keys that arrive once the job is over are not dropped: they wait in
// unread until the host's fence frame asks for them (a key pressed as a
// shell ends belongs to the lab, which gets it back).
type currentJob struct {
	mu      sync.Mutex
	id      int
	stdin   *stdinFeed
	pending []inputMsg
	stopReq chan struct{}
	stopped bool
	ended   int    // the last job that ended
	unread  []byte // its input that it never took
}

// expect makes job id current as soon as its frame is read.
func (c *currentJob) expect(id int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.id, c.stdin, c.pending, c.stopReq, c.stopped = id, nil, nil, make(chan struct{}), false
}

// begin gives job id its stdin (nil: the job reads none), hands it the
// input that came early, and returns the channel a stop request closes.
func (c *currentJob) begin(id int, stdin *stdinFeed) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.id != id || c.stopReq == nil {
		c.id, c.pending, c.stopReq, c.stopped = id, nil, make(chan struct{}), false
	}
	c.stdin = stdin
	if stdin != nil {
		for _, m := range c.pending {
			stdin.send(m)
		}
	}
	c.pending = nil
	return c.stopReq
}

func (c *currentJob) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended, c.unread = c.id, nil
	if c.stdin != nil {
		c.keep(c.stdin.stop())
	}
	for _, m := range c.pending {
		c.keep(m.Data)
	}
	c.id, c.stdin, c.pending, c.stopReq = 0, nil, nil, nil
}

// keep adds to the ended job's unread input, within maxUnread.
func (c *currentJob) keep(b []byte) {
	if n := maxUnread - len(c.unread); n > 0 {
		c.unread = append(c.unread, b[:min(n, len(b))]...)
	}
}

func (c *currentJob) input(m inputMsg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case m.ID == c.ended && m.ID != c.id:
		c.keep(m.Data)
	case m.ID != c.id || c.id == 0:
		// For a job that is long over: dropped.
	case c.stdin != nil:
		c.stdin.send(m)
	case len(c.pending) < 4096:
		c.pending = append(c.pending, m)
	}
}

// fence answers the host's fence frame for job id: every input frame the
// host sent for it has arrived, so what it never took is final.
func (c *currentJob) fence(id int) inputMsg {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := inputMsg{ID: id}
	if id == c.ended {
		m.Data, c.unread = c.unread, nil
	}
	return m
}

func (c *currentJob) stop(id int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id == c.id && c.id != 0 && c.stopReq != nil && !c.stopped {
		c.stopped = true
		close(c.stopReq)
	}
}

// stopOnRequest ends the job when the host asks: SIGTERM to the job (twinboot
// then tears its VM or container down), and SIGKILL to its whole process
// group if it is still there after stopGrace.
func stopOnRequest(pid int, stop, exited <-chan struct{}) {
	select {
	case <-stop:
	case <-exited:
		return
	}
	syscall.Kill(pid, syscall.SIGTERM)
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-t.C:
		syscall.Kill(-pid, syscall.SIGKILL)
	case <-exited:
	}
}

// readHost reads frames from the host for the life of L1: jobs go to jobs,
// input and stop requests to the running job. It closes jobs when the host
// says quit or the port fails.
func readHost(port io.Reader, fw *frameWriter, jobs chan<- jobMsg, cur *currentJob) {
	defer close(jobs)
	r := bufio.NewReaderSize(port, 1<<16)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			initLog("reading %s: %v", l1Serial, err)
			return
		}
		tag, payload, ok := parseFrame(line[:len(line)-1])
		if !ok {
			continue
		}
		switch tag {
		case tagQuit:
			return
		case tagJob:
			var job jobMsg
			if err := json.Unmarshal(payload, &job); err != nil {
				fw.json(tagExit, exitMsg{Code: -1, Err: fmt.Sprintf("bad job: %v", err), UptimeS: uptime()})
				continue
			}
			cur.expect(job.ID)
			jobs <- job
		case tagInput:
			var m inputMsg
			if err := json.Unmarshal(payload, &m); err == nil {
				cur.input(m)
			}
		case tagStop:
			var m stopMsg
			if err := json.Unmarshal(payload, &m); err == nil {
				cur.stop(m.ID)
			}
		case tagFence:
			var m stopMsg
			if err := json.Unmarshal(payload, &m); err == nil {
				fw.json(tagUnread, cur.fence(m.ID))
			}
		}
	}
}

package nested

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/reexec"
	"golang.org/x/sys/unix"
)

// L1Hostname is the lab machine's hostname.
const L1Hostname = "twinboot-l1"

// InitMain is L1's PID 1. It prepares the machine, then runs the jobs the
// host sends on ttyS1 one after another until the host says quit (or goes
// away), and powers L1 off. It never returns normally: PID 1 exiting would
// panic the kernel.
func InitMain() int {
	os.Unsetenv(reexec.Env)
	if err := initMounts(); err != nil {
		initLog("%v", err)
	}
	// A name of its own, so that a student (or a test) comparing
	// hostnames tells L1 from the VM ("(none)") and the container.
	if err := unix.Sethostname([]byte(L1Hostname)); err != nil {
		initLog("sethostname: %v", err)
	}
	port, err := openSerial(l1Serial)
	if err != nil {
		initLog("%v: no way to talk to the host; powering off", err)
		powerOff()
	}
	fw := &frameWriter{w: port}
	fw.json(tagHello, stageMsg{Name: "init", UptimeS: uptime()})

	ready := stageMsg{Name: "ready"}
	if err := loadModules(fw); err != nil {
		ready.Err = err.Error()
	} else if _, err := os.Stat("/dev/kvm"); err != nil {
		ready.Err = fmt.Sprintf("modules loaded but /dev/kvm is missing: %v", err)
	}
	ready.UptimeS = uptime()
	fw.json(tagReady, ready)

	// One goroutine reads the host for the whole life of L1: while a job
	// runs, its keyboard input and stop requests must still get through.
	jobs := make(chan jobMsg, 4)
	cur := &currentJob{}
	go readHost(port, fw, jobs, cur)
	for job := range jobs {
		fw.json(tagExit, runJob(fw, job, cur))
	}
	powerOff()
	return 0
}

func initLog(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "twinboot-l1: "+format+"\n", args...)
}

func powerOff() {
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		initLog("power off: %v", err)
	}
	// Not reached when the power-off works; if it does not, QEMU's
	// -no-reboot turns a reboot into an exit.
	unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	select {}
}

func initMounts() error {
	var errs []error
	for _, m := range []struct{ src, dst, fstype, data string }{
		{"proc", "/proc", "proc", ""},
		{"sysfs", "/sys", "sysfs", ""},
		{"devtmpfs", "/dev", "devtmpfs", ""},
		// Pseudo-terminals, for jobs the host runs with a TTY (a shell).
		{"devpts", "/dev/pts", "devpts", "mode=620,ptmxmode=666"},
		{"tmpfs", "/tmp", "tmpfs", "mode=1777"},
		{"tmpfs", "/run", "tmpfs", "mode=755"},
		// Pure cgroup v2, the layout most users have; the host here is a
		// v1/v2 hybrid, so L1 is where the v2 path gets exercised.
		{"cgroup2", "/sys/fs/cgroup", "cgroup2", ""},
	} {
		if err := os.MkdirAll(m.dst, 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := unix.Mount(m.src, m.dst, m.fstype, 0, m.data); err != nil {
			errs = append(errs, fmt.Errorf("mount %s on %s: %w", m.fstype, m.dst, err))
		}
	}
	return errors.Join(errs...)
}

// openSerial opens the transport port and makes it raw: no echo (the job
// frames the host sends must not come back), no CR/LF rewriting, no flow
// control characters, every byte delivered as it arrives.
func openSerial(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: get termios: %w", path, err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CBAUD
	t.Cflag |= unix.CS8 | unix.CLOCAL | unix.CREAD | unix.B115200
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: set termios: %w", path, err)
	}
	return f, nil
}

func loadModules(fw *frameWriter) error {
	mods, err := filepath.Glob(filepath.Join(l1ModuleDir, "*.ko"))
	if err != nil || len(mods) == 0 {
		return fmt.Errorf("no modules in %s", l1ModuleDir)
	}
	sort.Strings(mods)
	for _, m := range mods {
		name := strings.SplitN(filepath.Base(m), "-", 2)[1]
		fw.json(tagStage, stageMsg{Name: "loading " + name, UptimeS: uptime()})
		if err := loadModule(m); err != nil {
			fw.json(tagStage, stageMsg{Name: "loading " + name, UptimeS: uptime(), Err: err.Error()})
			if optionalModules[strings.TrimSuffix(name, ".ko")] {
				continue
			}
			return err
		}
	}
	fw.json(tagStage, stageMsg{Name: "modules loaded", UptimeS: uptime()})
	return nil
}

func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("load module: %w", err)
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("load module %s: %w", filepath.Base(path), err)
	}
	return nil
}

func uptime() float64 {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// jobEnv is what every job sees: it knows it is inside L1, where the guest
// artefacts are, and where to write its events.
func jobEnv(extra []string) []string {
	env := []string{
		// /usr/bin and /usr/sbin hold the peers copied from the host
		// (QEMU, runc, crun), at their host paths.
		"PATH=/bin:/sbin:/usr/bin:/usr/sbin",
		"HOME=/root",
		"TERM=dumb",
		host.EnvNested + "=1",
		"TWINBOOT_BUILD=" + l1Build,
		EnvEvents + "=3",
	}
	if _, err := os.Stat(l1VMM); err == nil {
		// Every program in L1 (a test binary in /extra, too) runs its VMs
		// in the small VMM rather than in a copy of itself.
		env = append(env, vmmEnv+"="+l1VMM)
	}
	return append(env, extra...)
}

// runJob runs one program and streams its stdout, stderr and events back;
// with job.Stdin or job.TTY it also feeds it what the host types (through
// cur, which the host reader delivers to).
func runJob(fw *frameWriter, job jobMsg, cur *currentJob) exitMsg {
	res := exitMsg{ID: job.ID, Code: -1}
	fail := func(format string, args ...any) exitMsg {
		cur.end() // input for a job that never ran is dropped from now on
		res.Err = fmt.Sprintf(format, args...)
		res.UptimeS = uptime()
		return res
	}
	path := job.Path
	if path == "" {
		path = l1Twinboot
	}
	cmd := exec.Command(path, job.Args...)
	cmd.Env = jobEnv(job.Env)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}

	jio, err := newJobIO(cmd, job)
	if err != nil {
		return fail("%v", err)
	}
	err = cmd.Start()
	jio.closeChildEnds()
	if err != nil {
		jio.closeAll()
		return fail("start %s: %v", path, err)
	}
	exited := make(chan struct{})
	stopped := cur.begin(job.ID, jio.stdin)
	go stopOnRequest(cmd.Process.Pid, stopped, exited)

	done := make(chan struct{}, len(jio.readers))
	for _, r := range jio.readers {
		go func(r *tagReader) {
			if r.tag == tagEvent {
				copyLines(fw, r.tag, r.activeReader)
			} else {
				copyChunks(fw, r.tag, r.activeReader)
			}
			done <- struct{}{}
		}(r)
	}
	werr := cmd.Wait()
	close(exited)
	cur.end()
	// A grandchild that inherited a pipe could keep it open for ever. Let
	// the readers drain what the job left (the serial line is slow, about
	// 200 KB/s), and cut off only a pipe that has been idle for 2 s.
	tick := time.NewTicker(250 * time.Millisecond)
	for left := len(jio.readers); left > 0; {
		select {
		case <-done:
			left--
		case <-tick.C:
			if jio.hold != nil && jio.readers[0].idle() > 200*time.Millisecond {
				jio.releaseHold() // the pty is drained: let its reader see the end
			}
			for _, r := range jio.readers {
				if r.idle() > 2*time.Second {
					r.f.SetReadDeadline(time.Now())
				}
			}
		}
	}
	tick.Stop()
	jio.closeAll()
	res.UptimeS = uptime()
	var ee *exec.ExitError
	switch {
	case werr == nil:
		res.Code = 0
	case errors.As(werr, &ee) && ee.Exited():
		res.Code = ee.ExitCode()
	default:
		res.Err = werr.Error()
	}
	return res
}

// activeReader remembers when it last returned data.
type activeReader struct {
	f    *os.File
	last atomic.Int64 // unix nanoseconds
}

func (a *activeReader) Read(p []byte) (int, error) {
	n, err := a.f.Read(p)
	if n > 0 {
		a.last.Store(time.Now().UnixNano())
	}
	return n, err
}

func (a *activeReader) idle() time.Duration {
	last := a.last.Load()
	if last == 0 {
		return time.Duration(1 << 62)
	}
	return time.Since(time.Unix(0, last))
}

func copyChunks(fw *frameWriter, tag string, r io.Reader) {
	buf := make([]byte, 3*1024) // a multiple of 3: base64 without padding mid-stream
	for {
		n, err := r.Read(buf)
		if n > 0 {
			fw.raw(tag, []byte(base64.StdEncoding.EncodeToString(buf[:n])))
		}
		if err != nil {
			return
		}
	}
}

func copyLines(fw *frameWriter, tag string, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		if line := sc.Bytes(); len(line) > 0 {
			fw.raw(tag, line)
		}
	}
}

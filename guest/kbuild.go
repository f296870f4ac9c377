package guest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// kbuild runs the kernel's own build system (make O=obj) for one build.
type kbuild struct {
	ctx     context.Context
	src     string // unpacked source tree
	obj     string // object directory
	log     io.Writer
	logPath string
	p       progress
}

// make runs one make invocation in the kernel tree, its output to out. The
// KBUILD_BUILD_* variables replace the build machine's user and host names,
// which the kernel would otherwise bake into its version string.
func (b *kbuild) make(out io.Writer, args ...string) error {
	args = append([]string{"-C", b.src, "O=" + b.obj, "ARCH=x86_64"}, args...)
	cmd := exec.CommandContext(b.ctx, "make", args...)
	cmd.Env = append(os.Environ(), "KBUILD_BUILD_USER=twinboot", "KBUILD_BUILD_HOST=lab")
	cmd.Stdout, cmd.Stderr = out, out
	// make forks compilers; put them all in one process group so that a
	// cancelled build stops them too, not only make.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	fmt.Fprintf(b.log, "+ make %s\n", strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("make %s: %w", args[len(args)-1], err)
	}
	return nil
}

// fail prints the end of the build log, so the cause is on screen, and
// returns err with the log's path.
func (b *kbuild) fail(stage string, err error) error {
	if cerr := b.ctx.Err(); cerr != nil {
		return fmt.Errorf("kernel %s interrupted: %w (partial log: %s)", stage, cerr, b.logPath)
	}
	if f, ok := b.log.(interface{ Sync() error }); ok {
		f.Sync()
	}
	fmt.Fprintf(b.p.w, "%s: %s failed; last lines of %s:\n", b.p.prefix, stage, b.logPath)
	for _, l := range tailLines(b.logPath, 30) {
		fmt.Fprintf(b.p.w, "    %s\n", l)
	}
	return fmt.Errorf("kernel %s: %w (log: %s)", stage, err, b.logPath)
}

// configure writes obj/.config: tinyconfig, then the fragment appended (a
// later assignment overrides an earlier one in Kconfig), then olddefconfig to
// resolve dependencies. Options whose dependencies are off are silently
// dropped by olddefconfig; the check after it turns that into an error that
// names them.
func (b *kbuild) configure(fragment []byte, want map[string]string) error {
	t0 := time.Now()
	b.p.say("configuring: tinyconfig + %d fragment options", len(want))
	if err := os.MkdirAll(b.obj, 0o755); err != nil {
		return b.fail("config", err)
	}
	if err := b.make(b.log, "tinyconfig"); err != nil {
		return b.fail("config", err)
	}
	cfgPath := filepath.Join(b.obj, ".config")
	f, err := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return b.fail("config", err)
	}
	_, err = f.Write(append([]byte("\n# twinboot kernel.fragment\n"), fragment...))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return b.fail("config", err)
	}
	if err := b.make(b.log, "olddefconfig"); err != nil {
		return b.fail("config", err)
	}
	final, err := os.ReadFile(cfgPath)
	if err != nil {
		return b.fail("config", err)
	}
	got, err := ParseConfig(final)
	if err != nil {
		return b.fail("config", fmt.Errorf("parse %s: %w", cfgPath, err))
	}
	if bad := Unmet(want, got); len(bad) > 0 {
		return fmt.Errorf("%w: %s (in %s)", ErrDropped, strings.Join(bad, ", "), cfgPath)
	}
	b.p.say("configured in %s", since(t0))
	return nil
}

// compile builds vmlinux and bzImage, printing the elapsed time and the
// step make is at every 15 s, since a cold build takes minutes.
func (b *kbuild) compile(jobs int) error {
	t0 := time.Now()
	b.p.say("compiling vmlinux and bzImage with -j%d (a cold build takes 3-5 minutes on 2 CPUs)", jobs)
	last := &lastLine{w: b.log}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				b.p.say("compiling... %s (%s)", since(t0), last.get())
			}
		}
	}()
	err := b.make(last, fmt.Sprintf("-j%d", jobs), "vmlinux", "bzImage")
	close(done)
	wg.Wait()
	if err != nil {
		return b.fail("compile", err)
	}
	b.p.say("compiled in %s", since(t0))
	return nil
}

// install copies the outputs into the key's directory, "release" last.
func (b *kbuild) install(k Kernel) error {
	copies := []struct{ from, to string }{
		{filepath.Join(b.obj, "arch/x86/boot/bzImage"), k.BzImage},
		{filepath.Join(b.obj, "vmlinux"), k.Vmlinux},
		{filepath.Join(b.obj, ".config"), k.Config},
		{filepath.Join(b.obj, "include/config/kernel.release"), filepath.Join(k.Dir, "release")},
	}
	for _, c := range copies {
		if err := copyFile(c.from, c.to); err != nil {
			return b.fail("install", err)
		}
	}
	return nil
}

// copyFile copies a regular file through a temporary name, so a reader
// never sees half a file.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	tmp := to + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return fmt.Errorf("copy %s: %w", from, err)
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, to)
}

// tailLines returns the last n lines of a file (nil if unreadable).
func tailLines(path string, n int) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// lastLine passes writes through and remembers the last complete line, to
// show where a long make is.
type lastLine struct {
	w    io.Writer
	mu   sync.Mutex
	line string
}

func (l *lastLine) Write(b []byte) (int, error) {
	l.mu.Lock()
	if i := bytes.LastIndexByte(bytes.TrimRight(b, "\n"), '\n'); i >= 0 {
		b2 := bytes.TrimRight(b[i+1:], "\n")
		l.line = strings.TrimSpace(string(b2))
	} else if s := strings.TrimSpace(string(b)); s != "" {
		l.line = s
	}
	l.mu.Unlock()
	return l.w.Write(b)
}

func (l *lastLine) get() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.line
}

// lockDir takes an exclusive flock on dir/name for the length of a build,
// so two builds never share an object directory at once.
func lockDir(dir, name string, p progress) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
		p.say("waiting for another build holding %s", f.Name())
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
	}
	return func() { f.Close() }, nil
}

// progress prints one line per stage, prefixed and timed.
type progress struct {
	w      io.Writer
	start  time.Time
	prefix string
}

func (p progress) say(format string, args ...any) {
	fmt.Fprintf(p.w, "%s: %s\n", p.prefix, fmt.Sprintf(format, args...))
}

func (p progress) elapsed() string { return since(p.start) }

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

package main

// What `twinboot run` and `twinboot bench` share: their experiment flags,
// the choice between running here and running inside the nested-mode lab
// machine, and the progress line on a terminal.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/nested"
)

// experimentFlags are the flags of run and bench that shape the experiment.
type experimentFlags struct {
	mode, kernel, initrd, mem, ctMem string
	cpus, syscalls                   int
	timeout                          time.Duration
	peers                            bool
}

func (e *experimentFlags) setup(fs *flag.FlagSet) {
	fs.StringVar(&e.mode, "mode", "auto", "auto, native or nested: nested runs the whole experiment inside an emulated AMD-V machine (auto picks it when /dev/kvm is not hardware-backed)")
	fs.StringVar(&e.kernel, "kernel", "", "VM kernel, bzImage or PVH vmlinux, also booted by the QEMU peer (default: the lab kernel's vmlinux, PVH)")
	fs.StringVar(&e.initrd, "initrd", "", "VM initramfs (default: the lab initramfs)")
	fs.StringVar(&e.mem, "mem", "128M", "VM guest RAM (K, M or G suffix)")
	fs.IntVar(&e.cpus, "cpus", 1, "VM vCPUs")
	fs.StringVar(&e.ctMem, "ct-mem", "0", "container memory limit (0: none)")
	fs.IntVar(&e.syscalls, "syscalls", compare.DefaultSyscalls, "getppid calls in the probe's syscall burst (both sides)")
	fs.DurationVar(&e.timeout, "timeout", compare.DefaultTimeout, "per boot: give up on a side after this long")
	fs.BoolVar(&e.peers, "peers", false, "also measure QEMU/KVM, runc and crun where installed (others are reported skipped)")
}

// innerFlags are the flags that describe the experiment itself: they are
// passed on unchanged to the twinboot that runs inside L1. Output flags are
// not: the host renders the results the inner run sends back.
var innerFlags = map[string]bool{
	"kernel": true, "initrd": true, "mem": true, "cpus": true, "ct-mem": true,
	"syscalls": true, "timeout": true, "peers": true, "runs": true, "warmup": true,
}

func (e *experimentFlags) options() (compare.Options, error) {
	var opt compare.Options
	mem, err := parseSize(e.mem)
	if err != nil {
		return opt, fmt.Errorf("%w: --mem: %v", errUsage, err)
	}
	var ctMem uint64
	if e.ctMem != "0" && e.ctMem != "" {
		if ctMem, err = parseSize(e.ctMem); err != nil {
			return opt, fmt.Errorf("%w: --ct-mem: %v", errUsage, err)
		}
	}
	if e.syscalls < 0 {
		return opt, fmt.Errorf("%w: --syscalls must not be negative", errUsage)
	}
	a, err := guest.Load(guest.BuildDir())
	if err != nil {
		return opt, err
	}
	opt = compare.Options{
		Guest: a, Kernel: e.kernel, Initrd: e.initrd, VMMemBytes: mem, VMCPUs: e.cpus,
		CTMemBytes: int64(ctMem), Syscalls: e.syscalls, Timeout: e.timeout, Peers: e.peers,
		Mode: "native",
	}
	if nested.Inside() {
		// Every figure measured in L1 is emulated, and says so.
		opt.Mode, opt.Emulated = "nested", true
	}
	return opt, nil
}

// experiment runs the engine here, or inside L1 when the mode says so, and
// returns the results either way. engine is compare.RunOnce or compare.Bench.
func experiment(fs *flag.FlagSet, e *experimentFlags, command string, runs, warmup int,
	engine func(context.Context, compare.Options, event.Sink) (compare.Results, error)) (compare.Results, error) {
	d, err := nested.Decide(e.mode)
	if err != nil {
		return compare.Results{}, fmt.Errorf("%w: %v", errUsage, err)
	}
	ctx, stop := signalContext()
	defer stop()
	// Checked here even when L1 will do the work: a bad size or an unbuilt
	// guest should not cost an emulated boot to find out.
	opt, err := e.options()
	if err != nil {
		return compare.Results{}, err
	}
	status := newStatusLine(fs.Output())
	defer status.done()
	if d.Mode == nested.ModeNested && !nested.Inside() {
		status.log("mode nested: " + d.Reason)
		return inL1(ctx, fs, command, runs+warmup, e.timeout, status.sink)
	}
	opt.Runs, opt.Warmup = runs, warmup
	// Inside L1 the events also travel to the host; elsewhere EventTap is nil.
	res, err := engine(ctx, opt, nested.Tee(nested.EventTap(), status.sink))
	if errors.Is(err, context.Canceled) {
		return res, interrupted(err)
	}
	return res, err
}

// inL1 boots the nested-mode lab machine, runs this same command in it with
// the same experiment flags, and takes the results from the Finished event.
// The host, not L1, renders and writes them, so --out files land here.
func inL1(ctx context.Context, fs *flag.FlagSet, command string, pairs int, perBoot time.Duration, sink event.Sink) (compare.Results, error) {
	args := []string{command}
	var extra []nested.File
	fs.Visit(func(f *flag.Flag) {
		if !innerFlags[f.Name] {
			return
		}
		v := f.Value.String()
		if (f.Name == "kernel" || f.Name == "initrd") && v != "" {
			// A file of this host: it goes into L1 with the job, and the
			// inner run is given its path there.
			dst := "/extra/" + f.Name + "/" + filepath.Base(v)
			extra = append(extra, nested.File{Src: v, Dst: dst})
			v = dst
		}
		args = append(args, "--"+f.Name+"="+v)
	})
	var res *compare.Results
	var mu sync.Mutex
	relay := func(ev event.Event) {
		if f, ok := ev.(compare.Finished); ok {
			mu.Lock()
			r := f.Results
			res = &r
			mu.Unlock()
		}
		sink.Emit(ev)
	}
	// Per pair: VM, container and up to three peers, plus the baseline boot
	// and L1's own boot.
	timeout := 5*time.Minute + time.Duration(pairs+1)*5*perBoot
	var stderr bytes.Buffer
	// L1 gets copies of the peers only for a run that measures them.
	peers := false
	if f := fs.Lookup("peers"); f != nil {
		peers = f.Value.String() == "true"
	}
	opt := nested.Options{Timeout: timeout, Stderr: &stderr, Sink: sink, Extra: extra, Peers: peers}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m, err := nested.Prepare(ctx, opt)
	if err != nil {
		return compare.Results{}, fmt.Errorf("nested mode: %w", err)
	}
	defer m.Close()
	s, err := m.Boot(ctx)
	if err != nil {
		return compare.Results{}, interrupted(fmt.Errorf("nested mode: %w", err))
	}
	defer s.Close()
	code, err := s.Run(ctx, nested.Job{Args: args, Sink: relay, Stdout: io.Discard, Stderr: &stderr})
	if err != nil {
		return compare.Results{}, interrupted(fmt.Errorf("nested mode: %w", err))
	}
	mu.Lock()
	defer mu.Unlock()
	var innerErr error
	if code != 0 {
		msg := strings.TrimPrefix(lastLine(stderr.String()), "twinboot "+command+": ")
		if msg == "" {
			msg = fmt.Sprintf("exit status %d", code)
		}
		innerErr = fmt.Errorf("inside the nested-mode lab machine: %s", msg)
	}
	if res == nil {
		if innerErr == nil {
			innerErr = errors.New("inside the nested-mode lab machine: the run sent no results")
		}
		return compare.Results{}, innerErr
	}
	r := *res
	r.Mode, r.Emulated = "nested", true
	r.Host.L1Kernel = strings.TrimSpace(m.Kernel.Package + " " + m.Kernel.Version)
	outer := compare.HostFacts()
	r.Outer = &outer
	return r, innerErr
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// statusLine shows what the experiment is doing on one rewritten line of a
// terminal, and nothing at all when stderr is a file or a pipe: scripts and
// CI logs get only the results and errors.
type statusLine struct {
	w    io.Writer
	tty  bool
	mu   sync.Mutex
	text string
	bar  string
}

func newStatusLine(w io.Writer) *statusLine {
	s := &statusLine{w: w}
	if f, ok := w.(*os.File); ok {
		_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
		s.tty = err == nil
	}
	return s
}

func (s *statusLine) sink(ev event.Event) {
	if !s.tty {
		return
	}
	switch e := ev.(type) {
	case event.Progress:
		const width = 24
		filled := 0
		if e.Total > 0 {
			filled = width * e.Done / e.Total
		}
		s.set(&s.bar, fmt.Sprintf("%s [%s%s] %d/%d", e.What, strings.Repeat("#", filled), strings.Repeat("-", width-filled), e.Done, e.Total))
	case compare.RunStarted:
		what := fmt.Sprintf("run %d/%d", e.Index+1, e.Total)
		if e.Warmup {
			what += " (warmup)"
		}
		s.set(&s.text, what)
	case event.Phase:
		s.set(&s.text, fmt.Sprintf("%s: %s", e.Side, e.Name))
	case event.Log:
		s.set(&s.text, e.Msg)
	}
}

func (s *statusLine) log(msg string) { s.sink(event.Log{Msg: msg}) }

func (s *statusLine) set(field *string, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*field = v
	line := strings.TrimSpace(s.bar + "  " + s.text)
	if len(line) > 110 {
		line = line[:110]
	}
	fmt.Fprintf(s.w, "\r\033[K%s", line)
}

// done clears the line so that what follows starts clean.
func (s *statusLine) done() {
	if s.tty {
		fmt.Fprintf(s.w, "\r\033[K")
	}
}

package nested

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/internal/event"
	"github.com/twinboot/twinboot/internal/reexec"
)

// Options configure L1. The zero value is the recipe that held on our
// machines: one vCPU, 1 GiB, -M pc.
type Options struct {
	// Binary is the static twinboot to run in L1. Default: this executable
	// if it is a static twinboot, else <build>/bin/twinboot.
	Binary string
	// QEMU is the qemu-system-x86_64 program (name or path).
	QEMU string
	// Kernel replaces Debian's L1 kernel image (the modules still come from
	// Debian's package). For experiments and tests.
	Kernel string
	// CPUs is L1's vCPU count; more than one turns on multi-threaded TCG.
	CPUs int
	// MemMB is L1's RAM. L2 guests and the initramfs live in it.
	MemMB int
	// Machine is QEMU's machine type; "pc" unless proven otherwise.
	Machine string
	// BIOS replaces QEMU's firmware (for instance qboot.rom) when set.
	BIOS string
	// Append is added to L1's kernel command line.
	Append string
	// BootTimeout bounds the time from QEMU's start to init being ready.
	// A job's own bound is Job.Timeout.
	BootTimeout time.Duration
	// BuildDir holds build/nested (cache) and the guest artefacts.
	// Default guest.BuildDir().
	BuildDir string
	// NoGuest leaves the guest artefacts out of L1 even when they are built.
	NoGuest bool
	// Peers copies the peers installed here (QEMU, runc, crun, with their
	// libraries and QEMU's firmware) into L1, for `bench --peers`. They
	// double the initramfs (about 65 MB more) and add about 0.7 s to every
	// emulated boot, so only a machine that runs them gets them.
	Peers bool
	// Extra files to put into L1 for this machine, such as a test binary.
	Extra []File
	// Console receives L1's serial console (ttyS0) as it comes. Optional.
	Console io.Writer
	// Sink receives L1's own progress as event.Log (preparing, boot,
	// modules, ready). When it is nil, an L1 gives its progress to the
	// sink of the job that is waiting for it (see L1.Run).
	Sink event.Sink
}

const (
	defaultQEMU        = "qemu-system-x86_64"
	defaultBootTimeout = 3 * time.Minute
	// DebianQEMU is the package that provides qemu-system-x86_64.
	DebianQEMU = "qemu-system-x86"
)

// The L1 kernel command line. nohz=off highres=off: without them QEMU 7.2's
// emulation sometimes loses L1's timer interrupt and L1 hangs silently (5 of
// 6 runs with a gokvm-style VMM; 0 of 5 with them). quiet: serial output is
// expensive under emulation. panic=-1 with QEMU's -no-reboot turns a panic
// into QEMU's exit rather than a hang. earlyprintk=ttyS0: without it the
// boot stub's own errors (a corrupt kernel: "XZ-compressed data is corrupt
// -- System halted") never reach the console.
const l1Cmdline = "console=ttyS0 earlyprintk=ttyS0 quiet panic=-1 nohz=off highres=off"

// Errors.
var (
	ErrNoQEMU  = errors.New("qemu not found")
	ErrTimeout = errors.New("nested: timed out")
	ErrStopped = errors.New("nested: L1 did not finish")
	ErrNotUp   = errors.New("nested: L1 came up without a usable /dev/kvm")
)

// Machine is an assembled L1, ready to boot any number of times.
type Machine struct {
	opt       Options
	QEMU      string           // resolved path
	Kernel    Kernel           // Debian's kernel used for L1 (recorded in results)
	Image     string           // kernel image booted (Kernel.Image unless overridden)
	Initramfs string           // the archive QEMU loads
	Guest     *guest.Artifacts // guest artefacts included, nil if none
	// Peers are the programs copied into L1 for `bench --peers` (QEMU, runc,
	// crun), those installed on the host, with their Debian versions.
	Peers  []Peer
	tmpDir string // this machine's own files; removed by Close
	// initrd is Initramfs, held open: QEMU gets it as an inherited file
	// descriptor, so a cached archive that another twinboot prunes while this
	// machine lives still boots.
	initrd *os.File
}

// initrdFD is the descriptor number QEMU finds the initramfs on (after
// stdin, stdout, stderr and the console pipe).
const initrdFD = 4

func (o Options) withDefaults() Options {
	if o.QEMU == "" {
		o.QEMU = defaultQEMU
	}
	if o.CPUs <= 0 {
		o.CPUs = 1
	}
	if o.MemMB <= 0 {
		o.MemMB = 1024
	}
	if o.Machine == "" {
		o.Machine = "pc"
	}
	if o.BootTimeout <= 0 {
		o.BootTimeout = defaultBootTimeout
	}
	if o.BuildDir == "" {
		o.BuildDir = guest.BuildDir()
	}
	return o
}

// LookQEMU resolves the QEMU program, or explains which package to install.
func LookQEMU(name string) (string, error) {
	if name == "" {
		name = defaultQEMU
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w: %s: install the Debian package %s (make deps): %v", ErrNoQEMU, name, DebianQEMU, err)
	}
	return p, nil
}

// Prepare assembles L1: it checks the tools, fetches (or reuses) the kernel
// under <build>/nested/<package>_<version>/, and builds (or reuses) the
// initramfs there. Close the machine to remove its temporary files.
func Prepare(ctx context.Context, opt Options) (*Machine, error) {
	opt = opt.withDefaults()
	m := &Machine{opt: opt}
	var err error
	if m.QEMU, err = LookQEMU(opt.QEMU); err != nil {
		return nil, err
	}
	in := initramfsInputs{}
	if in.Binary, err = resolveBinary(opt); err != nil {
		return nil, err
	}
	if in.Busybox, err = exec.LookPath("busybox"); err != nil {
		return nil, fmt.Errorf("busybox not found: install the Debian package busybox-static (make deps): %w", err)
	}
	if err := checkStatic(in.Busybox, "busybox"); err != nil {
		return nil, fmt.Errorf("%w (install busybox-static)", err)
	}
	progress := func(s string) { opt.Sink.Emit(event.Log{Msg: "nested: " + s}) }
	if in.Init, err = resolveHelper(in.Binary, ctInitName, "containers in L1"); err != nil {
		progress(err.Error())
	}
	if in.VMM, err = resolveHelper(in.Binary, vmmName, "VMs in L1"); err != nil {
		progress(err.Error())
	}
	if opt.Peers {
		in.Peers = findPeerFiles(ctx, progress)
		m.Peers = in.Peers.Peers
	}
	if m.Kernel, err = FetchKernel(ctx, opt.BuildDir, progress); err != nil {
		return nil, err
	}
	in.Kernel = m.Kernel
	m.Image = m.Kernel.Image
	if m.Kernel.Vmlinux != "" {
		m.Image = m.Kernel.Vmlinux
	}
	if opt.Kernel != "" {
		if m.Image, err = filepath.Abs(opt.Kernel); err != nil {
			return nil, err
		}
		if _, err := os.Stat(m.Image); err != nil {
			return nil, fmt.Errorf("L1 kernel: %w", err)
		}
	}
	if !opt.NoGuest {
		g, err := guest.Load(opt.BuildDir)
		switch {
		case err == nil:
			m.Guest = &g
			in.Guest = &g
		case errors.Is(err, guest.ErrNotBuilt):
			progress("guest artefacts not built; L1 gets none (" + err.Error() + ")")
		default:
			return nil, fmt.Errorf("guest artefacts for L1: %w", err)
		}
	}
	if m.Initramfs, err = buildInitramfs(filepath.Dir(m.Kernel.Image), in); err != nil {
		return nil, err
	}
	if len(opt.Extra) > 0 {
		if err := m.addExtras(); err != nil {
			m.Close()
			return nil, err
		}
	}
	if m.initrd, err = os.Open(m.Initramfs); err != nil {
		m.Close()
		return nil, fmt.Errorf("L1 initramfs: %w", err)
	}
	return m, nil
}

// resolveBinary finds the static twinboot to put into L1.
func resolveBinary(opt Options) (string, error) {
	p := opt.Binary
	if p == "" {
		if exe, err := os.Executable(); err == nil && filepath.Base(exe) == "twinboot" && checkStatic(exe, "twinboot") == nil {
			p = exe
		} else {
			p = filepath.Join(opt.BuildDir, "bin", "twinboot")
		}
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("twinboot binary for L1: %w (run 'make bin')", err)
	}
	if err := checkStatic(p, "twinboot binary"); err != nil {
		return "", err
	}
	return filepath.Abs(p)
}

// resolveHelper finds the helper binary name (the container init, the VMM)
// beside the twinboot binary going into L1 (make bin builds them all).
// Without it L1 still works: twinboot re-executes itself as the helper,
// only more slowly and larger; instead says what does that.
func resolveHelper(binary, name, instead string) (string, error) {
	p := filepath.Join(filepath.Dir(binary), name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no %s beside %s for L1 (make bin builds it); %s re-execute twinboot instead", name, binary, instead)
	}
	if err := checkStatic(p, name); err != nil {
		return "", err
	}
	return p, nil
}

// runDir holds the per-machine temporary directories; the process id in each
// name lets a later Prepare remove those of a twinboot that was SIGKILLed.
func runDir(buildDir string) string { return filepath.Join(buildDir, "nested", "run") }

func (m *Machine) addExtras() error {
	dir := runDir(m.opt.BuildDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("L1 extra files: %w", err)
	}
	sweepRunDirs(dir)
	tmp, err := os.MkdirTemp(dir, strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return fmt.Errorf("L1 extra files: %w", err)
	}
	m.tmpDir = tmp
	dst := filepath.Join(tmp, "initramfs.cpio")
	if err := concatWithExtras(dst, m.Initramfs, m.opt.Extra); err != nil {
		return fmt.Errorf("L1 extra files: %w", err)
	}
	m.Initramfs = dst
	return nil
}

// concatWithExtras writes base followed by an archive of the extra files:
// the kernel unpacks concatenated archives one after the other, and QEMU
// takes only one -initrd file.
func concatWithExtras(dst, base string, extra []File) error {
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	in, err := os.Open(base)
	if err != nil {
		out.Close()
		return err
	}
	_, err = io.Copy(out, in)
	in.Close()
	if err == nil {
		err = writeExtras(out, extra)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// sweepRunDirs removes run directories whose twinboot no longer exists.
func sweepRunDirs(dir string) (removed []string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		pidStr, _, ok := strings.Cut(e.Name(), "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(filepath.Join("/proc", pidStr)); errors.Is(err, os.ErrNotExist) {
			if os.RemoveAll(filepath.Join(dir, e.Name())) == nil {
				removed = append(removed, filepath.Join(dir, e.Name()))
			}
		}
	}
	return removed
}

// CleanupStaleRuns removes the temporary files of L1 machines whose
// twinboot was killed (SIGKILL leaves them: a run's extra files can be
// tens of MB) and returns what it removed. Every command calls it first.
func CleanupStaleRuns(buildDir string) []string {
	return sweepRunDirs(runDir(buildDir))
}

// Close removes the machine's temporary files. Sessions booted from it
// must be closed first.
func (m *Machine) Close() error {
	if m == nil {
		return nil
	}
	if m.initrd != nil {
		m.initrd.Close()
		m.initrd = nil
	}
	if m.tmpDir == "" {
		return nil
	}
	err := os.RemoveAll(m.tmpDir)
	m.tmpDir = ""
	return err
}

func (m *Machine) qemuArgs() []string {
	o := m.opt
	accel := "tcg"
	if o.CPUs > 1 {
		accel = "tcg,thread=multi"
	}
	cmdline := l1Cmdline + " " + reexec.Env + "=" + reexecName + " twinboot.nested=1"
	if o.Append != "" {
		cmdline += " " + o.Append
	}
	args := []string{
		"-nodefaults", "-no-user-config",
		"-accel", accel,
		"-M", o.Machine,
		// An emulated AMD CPU with SVM and nested paging: TCG has no VMX.
		"-cpu", "qemu64,+svm,+npt",
		"-m", strconv.Itoa(o.MemMB),
		"-smp", strconv.Itoa(o.CPUs),
		"-display", "none",
		"-no-reboot",
		"-kernel", m.Image,
		"-initrd", fmt.Sprintf("/dev/fd/%d", initrdFD),
		"-append", cmdline,
		// ttyS0, the console: into a pipe the host reads (fd 3).
		"-chardev", "file,id=console,path=/dev/fd/3",
		"-serial", "chardev:console",
		// ttyS1, the transport: QEMU's stdin and stdout, both ways.
		"-chardev", "stdio,id=transport,signal=off",
		"-serial", "chardev:transport",
	}
	if o.BIOS != "" {
		args = append(args, "-bios", o.BIOS)
	}
	return args
}

package compare

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/hypervisor"
	"github.com/twinboot/twinboot/internal/event"
)

// Peer phases: a peer is a black box, so only its spawn and the READY line
// on its output can be timed, on the same clock and by the same rule as ours.
const (
	PeerPhaseSpawn = "spawn"
	PeerPhaseReady = "READY seen"
)

// lookPath is exec.LookPath; the tests point it at an empty PATH to prove
// that a missing peer is reported as skipped.
var lookPath = exec.LookPath

// findPeers decides which peers can run here. A peer that cannot is listed
// with the reason and never measured: a skipped peer is not a failed one and
// has no figures, not zero figures.
func findPeers(opt Options, host Host, sink event.Sink) ([]namedRunner, []Peer) {
	var runners []namedRunner
	var peers []Peer
	add := func(name string, run runner, version, skipped string) {
		peers = append(peers, Peer{Name: name, Version: version, Skipped: skipped})
		if skipped != "" {
			sink.Emit(event.Log{Side: event.Side(name), Msg: "peer skipped: " + skipped})
			return
		}
		runners = append(runners, namedRunner{name, run})
	}
	run, version, skipped := qemuPeer(opt, host)
	add(PeerQEMU, run, version, skipped)
	for _, name := range []string{PeerRunc, PeerCrun} {
		run, version, skipped := ociPeer(name, opt, host)
		add(name, run, version, skipped)
	}
	return runners, peers
}

// notInstalled words the reason a peer's program is missing.
func notInstalled(program, debPackage string, opt Options) string {
	if opt.Emulated {
		// The lab machine gets its peers from the host's installed
		// packages (nested.Prepare copies them in).
		return fmt.Sprintf("%s is not available inside the nested-mode lab machine: it is not installed on the host (Debian package %s)", program, debPackage)
	}
	return fmt.Sprintf("%s is not installed (Debian package %s)", program, debPackage)
}

// version runs "program --version" and keeps the first line, minus the
// "<name> version " prefix runc and crun print.
func version(path string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(out), "\n")
	if _, v, ok := strings.Cut(line, " version "); ok {
		return strings.TrimSpace(v)
	}
	return strings.TrimSpace(line)
}

// qemuPeer boots the same kernel and initramfs as our VM under QEMU with
// KVM, on QEMU's smallest machine (microvm) when this QEMU has it.
func qemuPeer(opt Options, host Host) (runner, string, string) {
	path, accel, skipped := qemuKVM(opt, host)
	if skipped != "" {
		return nil, "", skipped
	}
	return qemuRunner(path, opt, accel), version(path), ""
}

// qemuKVM finds QEMU and its KVM accelerator arguments, or says why the
// QEMU peer cannot run here.
func qemuKVM(opt Options, host Host) (path string, accel []string, skipped string) {
	const program = "qemu-system-x86_64"
	path, err := lookPath(program)
	if err != nil {
		return "", nil, notInstalled(program, "qemu-system-x86", opt)
	}
	switch host.KVM {
	case "vmx", "svm":
	case "kvm_pvm":
		return "", nil, "/dev/kvm is kvm_pvm here: under it no Linux guest reaches user space, QEMU's no more than ours (use --mode nested)"
	case "none":
		return "", nil, "no /dev/kvm: QEMU would fall back to emulation, which is not the peer we compare with"
	default:
		return "", nil, "/dev/kvm is backed by an unrecognised module; QEMU/KVM figures would not be comparable"
	}
	return path, []string{"-accel", "kvm", "-cpu", "host"}, ""
}

// qemuRunner boots opt's kernel and initramfs under QEMU with the given
// accelerator arguments, timed from spawn to the READY line on its serial
// port. The tests use TCG here, where KVM cannot bring a guest up.
func qemuRunner(path string, opt Options, accel []string) runner {
	machine := "pc"
	if out, err := exec.Command(path, "-machine", "help").Output(); err == nil && bytes.Contains(out, []byte("microvm")) {
		machine = "microvm"
	}
	v := version(path)
	return func(ctx context.Context, index, syscalls int, sink event.Sink) Side {
		side := Side{Name: PeerQEMU, Version: v + " -M " + machine, Emulated: opt.Emulated}
		args := append(append([]string(nil), accel...),
			"-M", machine,
			"-m", fmt.Sprintf("%dM", opt.VMMemBytes>>20), "-smp", fmt.Sprint(opt.VMCPUs),
			"-kernel", opt.Kernel, "-initrd", opt.Initrd,
			"-append", report.Cmdline(hypervisor.DefaultCmdline, report.ModePoweroff, syscalls),
			"-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
			"-serial", "stdio", "-no-reboot",
			// The probe's "done" port, as under our hypervisor.
			"-device", fmt.Sprintf("isa-debug-exit,iobase=%#x,iosize=0x04", report.ExitPort),
		)
		cmd := exec.Command(path, args...)
		spawnToReady(ctx, cmd, opt.Timeout, &side, sink, nil)
		return side
	}
}

// ociPeer runs the probe under an OCI runtime (runc or crun) from a bundle
// whose config.json is the one our own runtime uses for the same rootfs
// (container.DefaultSpec), so all three run the same thing.
func ociPeer(name string, opt Options, host Host) (runner, string, string) {
	path, err := lookPath(name)
	if err != nil {
		return nil, "", notInstalled(name, name, opt)
	}
	if os.Geteuid() != 0 {
		return nil, "", name + " needs root to create namespaces and cgroups"
	}
	var start startFunc
	if name == PeerCrun && host.Cgroup == "hybrid" {
		// crun refuses hybrid cgroup hosts ("cgroups in hybrid mode not
		// supported"). Hiding the v2 hierarchy from it, in a mount
		// namespace of its own, makes the host look pure v1 to it.
		start = func(cmd *exec.Cmd) (func(), error) { return startWithoutUnified(cmd, "/sys/fs/cgroup/unified") }
	}
	v := version(path)
	runArgs := []string{"run"}
	label := v
	if rootIsRamfs() {
		// pivot_root refuses to move an initial ramfs (the nested-mode lab
		// machine's root): both runtimes then need --no-pivot, a mount move
		// and chroot, the same fallback our runtime takes there by itself.
		runArgs = append(runArgs, "--no-pivot")
		label += " --no-pivot"
	}
	run := func(ctx context.Context, index, syscalls int, sink event.Sink) Side {
		side := Side{Name: name, Version: label, Emulated: opt.Emulated}
		bundle, err := writeBundle(opt.Guest.Rootfs, probeArgs(syscalls))
		if err != nil {
			side.Error = err.Error()
			return side
		}
		defer os.RemoveAll(bundle)
		id := fmt.Sprintf("twinboot-%s-%d-%d", name, os.Getpid(), index)
		cmd := exec.Command(path, append(runArgs, "--bundle", bundle, id)...)
		spawnToReady(ctx, cmd, opt.Timeout, &side, sink, start)
		// A runtime killed by the timeout can leave its container's state
		// behind; delete it (an error here just means nothing was left),
		// seeing the cgroups as the runtime saw them.
		del := exec.Command(path, "delete", "--force", id)
		if start == nil {
			_ = del.Run()
		} else if release, err := start(del); err == nil {
			_ = del.Wait()
			release()
		}
		return side
	}
	return run, label, ""
}

const ociVersion = "1.0.2"

// writeBundle writes a temporary OCI bundle: config.json pointing at rootfs
// (read-only, so the runs never change it).
func writeBundle(rootfs string, args []string) (string, error) {
	dir, err := os.MkdirTemp("", "twinboot-bundle-")
	if err != nil {
		return "", fmt.Errorf("peer bundle: %w", err)
	}
	spec := container.DefaultSpec(rootfs, args)
	// crun 1.8 refuses versions newer than it knows ("unknown version
	// specified"); 1.0.2 is what Debian's runc and crun both write and read.
	spec.Version = ociVersion
	b, err := json.MarshalIndent(spec, "", "  ")
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("peer bundle: %w", err)
	}
	return dir, nil
}

// startFunc starts cmd and returns what to call once it has been waited for.
type startFunc func(cmd *exec.Cmd) (release func(), err error)

// spawnToReady starts cmd and times it from just before the spawn to the
// READY line on its stdout, the same rule as for our sides. start, if set,
// replaces cmd.Start (the crun workaround). The peer is killed at READY or
// at the timeout; its exit status after READY does not matter.
func spawnToReady(ctx context.Context, cmd *exec.Cmd, timeout time.Duration, side *Side, sink event.Sink, start startFunc) {
	who := event.Side(side.Name)
	fail := func(msg string) {
		side.Error = msg
		sink.Emit(event.Failure{Side: who, Err: msg})
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		fail(err.Error())
		return
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// Own process group, killed as a whole; and killed with us if we die.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if start == nil {
		start = func(cmd *exec.Cmd) (func(), error) { return func() {}, cmd.Start() }
	}
	t0 := time.Now()
	release, err := start(cmd)
	if err != nil {
		fail(fmt.Sprintf("start %s: %v", cmd.Path, err))
		return
	}
	side.Phases = append(side.Phases, event.Phase{Side: who, Name: PeerPhaseSpawn, At: 0})
	sink.Emit(side.Phases[0])

	ready := make(chan *report.Report, 1)
	go func() {
		defer close(ready)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if r, err := report.Parse(line); err == nil {
				ready <- &r
				break
			}
			sink.Emit(event.Console{Side: who, Text: strings.TrimRight(line, "\r")})
		}
		_, _ = io.Copy(io.Discard, stdout) // let the peer finish writing
	}()
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r, ok := <-ready:
		if ok {
			at := time.Since(t0)
			side.ReadyNS = int64(at)
			side.Report = r
			ph := event.Phase{Side: who, Name: PeerPhaseReady, At: at}
			side.Phases = append(side.Phases, ph)
			sink.Emit(ph)
			side.Reason = "exited"
		} else {
			side.Reason = "exited"
		}
	case <-timer.C:
		side.Reason = "timeout"
	case <-ctx.Done():
		side.Reason = "canceled"
	}
	// READY is all that is timed, but after it the peer is left to finish
	// on its own (the probe exits or powers off at once): a runtime killed
	// mid-way would leave its cgroups and state behind.
	if side.Report == nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-waited:
	case <-time.After(exitGrace):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		werr = <-waited
		if side.Report != nil {
			side.Reason = "killed after READY"
		}
	}
	release()
	if side.Report == nil {
		msg := "no READY line (" + side.Reason + ")"
		if werr != nil && side.Reason == "exited" {
			msg = fmt.Sprintf("no READY line: %v", werr)
		}
		if tail := lastLine(stderr.String()); tail != "" {
			msg += ": " + tail
		}
		fail(msg)
	}
}

// exitGrace is how long a peer may take to exit after READY.
const exitGrace = 10 * time.Second

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

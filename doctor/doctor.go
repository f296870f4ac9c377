package doctor

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/container"
	"github.com/twinboot/twinboot/container/runtime"
	"github.com/twinboot/twinboot/guest"
	"github.com/twinboot/twinboot/hypervisor/vmm"
	"github.com/twinboot/twinboot/internal/host"
	"github.com/twinboot/twinboot/internal/reexec"
	"github.com/twinboot/twinboot/nested"
)

// Report is the whole diagnosis; it is also doctor's --json output.
type Report struct {
	Kernel   string          `json:"kernel"` // uname -r
	Root     bool            `json:"root"`
	InsideL1 bool            `json:"inside_l1"` // running in nested mode's L1
	KVM      host.KVMInfo    `json:"kvm"`
	Cgroup   host.CgroupInfo `json:"cgroup"`
	Tools    []Tool          `json:"tools"`
	Guest    Guest           `json:"guest"`
	Mode     host.Decision   `json:"mode"` // what the requested --mode resolves to
	Where    Where           `json:"where"`
	// StaleRemoved is what killed runs had left (container state, L1
	// temporary files) and this command removed as it started; the caller
	// sets it.
	StaleRemoved []string `json:"stale_removed"`
	Problems     []string `json:"problems"`
}

// Where says where twinboot found its parts.
type Where struct {
	Binary       string   `json:"binary"`
	BuildDir     string   `json:"build_dir"`
	BuildDirFrom string   `json:"build_dir_from"` // which rule found it (guest.LocateBuildDir)
	BuildDirErr  string   `json:"build_dir_error,omitempty"`
	Helpers      []Helper `json:"helpers"`
	L1           string   `json:"l1_machine,omitempty"` // nested mode's cached machine
}

// Helper is a program twinboot starts from beside itself.
type Helper struct {
	Name string `json:"name"`
	Path string `json:"path,omitempty"` // empty: missing
}

// helpers are the programs twinboot runs from its own directory.
var helpers = []string{container.InitBinaryName, vmm.BinaryName, runtime.BinaryName}

// Tool is an external program twinboot uses.
type Tool struct {
	Name    string `json:"name"`
	Package string `json:"debian_package"`
	Use     string `json:"use"`
	Path    string `json:"path,omitempty"`
	Version string `json:"version,omitempty"`
}

// Guest says whether `make guest` has run.
type Guest struct {
	Built         bool   `json:"built"`
	Key           string `json:"key,omitempty"`
	KernelRelease string `json:"kernel_release,omitempty"`
	Error         string `json:"error,omitempty"`
}

var tools = []Tool{
	{Name: "qemu-system-x86_64", Package: nested.DebianQEMU, Use: "nested mode's L1 machine, and the QEMU peer"},
	{Name: "runc", Package: "runc", Use: "container peer"},
	{Name: "crun", Package: "crun", Use: "container peer"},
	{Name: "busybox", Package: "busybox-static", Use: "the guest's and L1's shell"},
}

// Inspect diagnoses the host for the given --mode (auto, native, nested).
func Inspect(ctx context.Context, mode string) (Report, error) {
	d, err := host.Decide(mode)
	if err != nil {
		return Report{}, err
	}
	r := Report{
		Root:     os.Geteuid() == 0,
		InsideL1: host.InsideL1(),
		KVM:      d.KVM,
		Cgroup:   host.Cgroup(),
		Mode:     d,
	}
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		r.Kernel = unix.ByteSliceToString(uts.Release[:])
	}
	for _, t := range tools {
		r.Tools = append(r.Tools, inspectTool(ctx, t))
	}
	r.Where = where()
	if a, err := guest.Load(guest.BuildDir()); err == nil {
		r.Guest = Guest{Built: true, Key: a.Key, KernelRelease: a.KernelRelease}
	} else {
		r.Guest.Error = err.Error()
	}
	r.Problems = problems(r)
	return r, nil
}

func where() Where {
	var w Where
	w.Binary, _ = os.Executable()
	var err error
	w.BuildDir, w.BuildDirFrom, err = guest.LocateBuildDir()
	if err != nil {
		w.BuildDirErr = err.Error()
	}
	for _, h := range helpers {
		w.Helpers = append(w.Helpers, Helper{Name: h, Path: reexec.Beside(h)})
	}
	if dirs, _ := filepath.Glob(filepath.Join(w.BuildDir, "nested", "linux-image-*")); len(dirs) > 0 {
		w.L1 = dirs[len(dirs)-1]
	}
	return w
}

func inspectTool(ctx context.Context, t Tool) Tool {
	p, err := exec.LookPath(t.Name)
	if err != nil {
		return t
	}
	t.Path = p
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	arg := "--version"
	if t.Name == "busybox" {
		arg = "--help" // busybox has no --version; its help starts with it
	}
	out, _ := exec.CommandContext(ctx, p, arg).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	t.Version = strings.TrimSpace(line)
	return t
}

func problems(r Report) []string {
	var p []string
	if !r.Root {
		p = append(p, "not running as root: the VM, the container and nested mode's tests need root")
	}
	tool := func(name string) Tool {
		for _, t := range r.Tools {
			if t.Name == name {
				return t
			}
		}
		return Tool{}
	}
	if r.Mode.Mode == host.ModeNested && tool("qemu-system-x86_64").Path == "" {
		p = append(p, "nested mode needs qemu-system-x86_64: install the Debian package "+nested.DebianQEMU+" (make deps)")
	}
	if r.Mode.Mode == host.ModeNative && !r.KVM.HardwareBacked {
		p = append(p, "native mode without hardware-backed KVM: "+r.KVM.Detail)
	}
	if r.Mode.Mode == host.ModeNative && r.KVM.Present && !r.KVM.Usable {
		p = append(p, "/dev/kvm cannot be opened by this user")
	}
	if r.Where.BuildDirErr != "" {
		p = append(p, r.Where.BuildDirErr)
	} else if !r.Guest.Built {
		p = append(p, "guest not built: run 'make guest'")
	}
	for _, h := range r.Where.Helpers {
		// L1 carries what nested mode runs there, not the OCI runtime.
		if h.Path == "" && !(r.InsideL1 && h.Name == runtime.BinaryName) {
			p = append(p, fmt.Sprintf("%s is not beside %s: run 'make bin' (or make install)", h.Name, r.Where.Binary))
		}
	}
	for _, t := range r.Tools {
		// L1 carries only what nested mode needs: the peers run on the host.
		if t.Path == "" && t.Name != "qemu-system-x86_64" && !r.InsideL1 {
			p = append(p, fmt.Sprintf("%s missing (%s): install the Debian package %s", t.Name, t.Use, t.Package))
		}
	}
	return p
}

// WriteText prints the report for people.
func (r Report) WriteText(w io.Writer) error {
	var b bytes.Buffer
	yes := func(v bool) string {
		if v {
			return "yes"
		}
		return "no"
	}
	fmt.Fprintf(&b, "host kernel   %s\n", r.Kernel)
	if r.InsideL1 {
		fmt.Fprintf(&b, "inside L1     yes: this is nested mode's emulated machine; every timing here is emulated\n")
	}
	fmt.Fprintf(&b, "root          %s\n", yes(r.Root))
	k := r.KVM
	fmt.Fprintf(&b, "/dev/kvm      %s, flavour %s, hardware-backed %s", yes(k.Present), k.Flavour, yes(k.HardwareBacked))
	if k.HardwareBacked {
		fmt.Fprintf(&b, ", nested paging %s, nested %s", yes(k.NestedPaging), yes(k.Nested))
	}
	fmt.Fprintf(&b, "\n              %s\n", k.Detail)
	if k.CPUFlag != "" {
		fmt.Fprintf(&b, "cpu flag      %s\n", k.CPUFlag)
	} else {
		fmt.Fprintf(&b, "cpu flag      neither vmx nor svm in /proc/cpuinfo\n")
	}
	fmt.Fprintf(&b, "cgroup        %s: %s\n", r.Cgroup.Version, r.Cgroup.Detail)
	for _, t := range r.Tools {
		label := strings.TrimSuffix(t.Name, "-system-x86_64")
		if t.Path == "" {
			fmt.Fprintf(&b, "%-13s missing (Debian package %s; used for %s)\n", label, t.Package, t.Use)
		} else {
			fmt.Fprintf(&b, "%-13s %s\n", label, t.Version)
		}
	}
	if r.Guest.Built {
		fmt.Fprintf(&b, "guest         built (key %s, kernel %s)\n", r.Guest.Key, r.Guest.KernelRelease)
	} else {
		fmt.Fprintf(&b, "guest         not built: %s\n", r.Guest.Error)
	}
	fmt.Fprintf(&b, "mode          %s: %s\n", r.Mode.Mode, r.Mode.Reason)
	fmt.Fprintf(&b, "binary        %s\n", r.Where.Binary)
	for _, h := range r.Where.Helpers {
		p := h.Path
		if p == "" {
			p = "missing beside the binary (make bin)"
		}
		fmt.Fprintf(&b, "  %-17s %s\n", h.Name, p)
	}
	fmt.Fprintf(&b, "build dir     %s (from %s)\n", r.Where.BuildDir, r.Where.BuildDirFrom)
	if r.Where.L1 != "" {
		fmt.Fprintf(&b, "L1 machine    %s\n", r.Where.L1)
	}
	if len(r.StaleRemoved) > 0 {
		fmt.Fprintf(&b, "stale state   removed what killed runs left: %s\n", strings.Join(r.StaleRemoved, ", "))
	} else {
		fmt.Fprintf(&b, "stale state   none found\n")
	}
	if len(r.Problems) == 0 {
		fmt.Fprintf(&b, "verdict       ready\n")
	} else {
		fmt.Fprintf(&b, "problems:\n")
		sc := bufio.NewScanner(strings.NewReader(strings.Join(r.Problems, "\n")))
		for sc.Scan() {
			fmt.Fprintf(&b, "  - %s\n", sc.Text())
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

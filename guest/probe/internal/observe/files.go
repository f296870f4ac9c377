package observe

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/twinboot/twinboot/guest/report"
)

// ErrMalformed means a file exists but does not have the expected shape.
var ErrMalformed = errors.New("malformed")

// Paths of the files read, relative to the probe's "/" (fs.FS paths have no
// leading slash).
const (
	bootIDPath    = "proc/sys/kernel/random/boot_id"
	uptimePath    = "proc/uptime"
	meminfoPath   = "proc/meminfo"
	cpuOnlinePath = "sys/devices/system/cpu/online"
	mountinfoPath = "proc/self/mountinfo"
	cgroupPath    = "proc/self/cgroup"
	cmdlinePath   = "proc/cmdline"
	blockDir      = "sys/block"
)

// readFile reads a whole file; /proc files report size 0, so fs.ReadFile's
// size hint does not matter.
func readFile(root fs.FS, name string) ([]byte, error) {
	b, err := fs.ReadFile(root, name)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		// The path inside the error is the fs.FS one, without the leading
		// slash; say it the way a reader of the report expects.
		return nil, fmt.Errorf("read /%s: %w", name, pe.Err)
	}
	if err != nil {
		return nil, fmt.Errorf("read /%s: %w", name, err)
	}
	return b, nil
}

// BootID returns the random UUID the kernel picks at boot. Two containers on
// one host share it; a VM has its own, which is the point of reporting it.
func BootID(root fs.FS) (string, error) {
	b, err := readFile(root, bootIDPath)
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(string(b))
	if len(id) != 36 || strings.Count(id, "-") != 4 {
		return "", fmt.Errorf("/%s: %q is not a UUID: %w", bootIDPath, id, ErrMalformed)
	}
	return id, nil
}

// Uptime returns the first field of /proc/uptime: seconds since boot, as the
// kernel the probe runs on counts them.
func Uptime(root fs.FS) (float64, error) {
	b, err := readFile(root, uptimePath)
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("/%s is empty: %w", uptimePath, ErrMalformed)
	}
	up, err := strconv.ParseFloat(f[0], 64)
	if err != nil || up < 0 {
		return 0, fmt.Errorf("/%s: %q is not a duration: %w", uptimePath, f[0], ErrMalformed)
	}
	return up, nil
}

// Meminfo returns MemTotal and MemAvailable in kB, each with its own error:
// very old or unusual kernels lack MemAvailable while still having MemTotal.
func Meminfo(root fs.FS) (total, avail uint64, errTotal, errAvail error) {
	b, err := readFile(root, meminfoPath)
	if err != nil {
		return 0, 0, err, err
	}
	errTotal = fmt.Errorf("/%s has no MemTotal line: %w", meminfoPath, ErrMalformed)
	errAvail = fmt.Errorf("/%s has no MemAvailable line: %w", meminfoPath, ErrMalformed)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "MemTotal" && key != "MemAvailable") {
			continue
		}
		v, err := parseKB(rest)
		if err != nil {
			err = fmt.Errorf("/%s %s: %w", meminfoPath, key, err)
		}
		if key == "MemTotal" {
			total, errTotal = v, err
		} else {
			avail, errAvail = v, err
		}
	}
	return total, avail, errTotal, errAvail
}

// parseKB parses the value part of a meminfo line, "   12345 kB".
func parseKB(s string) (uint64, error) {
	f := strings.Fields(s)
	if len(f) != 2 || f[1] != "kB" {
		return 0, fmt.Errorf("%q is not \"N kB\": %w", strings.TrimSpace(s), ErrMalformed)
	}
	v, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number: %w", f[0], ErrMalformed)
	}
	return v, nil
}

// OnlineCPUs counts the CPUs the kernel has online, from the list in
// /sys/devices/system/cpu/online ("0-3,6"). This is what the kernel sees, not
// what a cgroup or affinity mask allows: a container sees the host's CPUs
// here, a VM sees its vCPUs.
func OnlineCPUs(root fs.FS) (int, error) {
	b, err := readFile(root, cpuOnlinePath)
	if err != nil {
		return 0, err
	}
	n, err := CountCPUList(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("/%s: %w", cpuOnlinePath, err)
	}
	return n, nil
}

// CountCPUList counts the CPUs in a kernel CPU list such as "0-3,6,8-9".
func CountCPUList(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("empty CPU list: %w", ErrMalformed)
	}
	n := 0
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return 0, fmt.Errorf("CPU list %q: bad entry %q: %w", s, part, ErrMalformed)
		}
		b := a
		if isRange {
			b, err = strconv.Atoi(hi)
			if err != nil || b < a {
				return 0, fmt.Errorf("CPU list %q: bad range %q: %w", s, part, ErrMalformed)
			}
		}
		n += b - a + 1
	}
	return n, nil
}

// Mounts counts the lines of /proc/self/mountinfo: the mounts visible in the
// probe's mount namespace.
func Mounts(root fs.FS) (int, error) {
	b, err := readFile(root, mountinfoPath)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		// A mountinfo line has at least 10 fields: ID, parent, dev, root,
		// mount point, options, "-", type, source, super options.
		if len(strings.Fields(line)) < 10 {
			return 0, fmt.Errorf("/%s: line %q: %w", mountinfoPath, line, ErrMalformed)
		}
		n++
	}
	return n, nil
}

// Cgroup returns /proc/self/cgroup with one "id:controllers:path" entry per
// hierarchy, joined by ";". A kernel built without cgroups has no such file.
func Cgroup(root fs.FS) (string, error) {
	b, err := readFile(root, cgroupPath)
	if err != nil {
		return "", err
	}
	var lines []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.Count(line, ":") < 2 {
			return "", fmt.Errorf("/%s: line %q: %w", cgroupPath, line, ErrMalformed)
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return "", fmt.Errorf("/%s is empty: %w", cgroupPath, ErrMalformed)
	}
	return strings.Join(lines, ";"), nil
}

// CmdlineParams returns the "twinboot.<name>=<value>" parameters of the
// kernel command line, keyed by name. The kernel ignores parameters with a dot
// it does not know (it takes them for module parameters) and passes them to
// nobody, so the probe reads them back from /proc/cmdline.
func CmdlineParams(root fs.FS) (map[string]string, error) {
	b, err := readFile(root, cmdlinePath)
	if err != nil {
		return nil, err
	}
	params := map[string]string{}
	for _, f := range strings.Fields(string(b)) {
		k, v, ok := strings.Cut(f, "=")
		name, isOurs := strings.CutPrefix(k, report.ParamPrefix)
		if ok && isOurs && name != "" {
			params[name] = v
		}
	}
	return params, nil
}

// Disks lists the block devices under /sys/block with their sizes and
// read-only flags. No /sys/block (a kernel without a block layer) is no
// disks, not an error; a device whose files are unreadable or malformed is.
func Disks(root fs.FS) ([]report.Disk, error) {
	ents, err := fs.ReadDir(root, blockDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read /%s: %w", blockDir, err)
	}
	var disks []report.Disk
	for _, e := range ents {
		name := e.Name()
		size, err := readUint(root, blockDir+"/"+name+"/size")
		if err != nil {
			return disks, err
		}
		ro, err := readUint(root, blockDir+"/"+name+"/ro")
		if err != nil {
			return disks, err
		}
		if size > ^uint64(0)/512 {
			return disks, fmt.Errorf("/%s/%s/size: %d sectors: %w", blockDir, name, size, ErrMalformed)
		}
		disks = append(disks, report.Disk{Name: name, SizeBytes: size * 512, ReadOnly: ro != 0})
	}
	return disks, nil
}

func readUint(root fs.FS, name string) (uint64, error) {
	b, err := readFile(root, name)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/%s: %q: %w", name, strings.TrimSpace(string(b)), ErrMalformed)
	}
	return v, nil
}

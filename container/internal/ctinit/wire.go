package ctinit

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Config is everything the container's init needs, worked out by the
// parent from the OCI spec. It is deliberately flat: the init decodes it with
// a few string splits instead of encoding/json, whose first use in a fresh
// process (reflecting over the whole runtime-spec type tree) cost about a
// millisecond of every container's start when measured here.
type Config struct {
	Hostname      string
	Rootfs        string // host path of the lower (or only) root directory
	StateDir      string // host path holding upper/, work/ and merged/
	Overlay       bool
	Readonly      bool
	CgroupNS      bool   // enter a cgroup namespace after joining the cgroup
	CgroupVersion string // "v1", "v2" or "hybrid"
	Mounts        []MountOp
	CgroupMounts  []MountOp // done after the cgroup namespace exists
	MaskedPaths   []string
	ReadonlyPaths []string
	Exe           string
	Args, Env     []string
	Cwd           string
	UID, GID      uint32
	Groups        []uint32
	Rlimits       []RlimitOp
	OOMScoreAdj   *int
	Caps          *CapsOp
	NoNewPrivs    bool
	Seccomp       *SeccompOp // nil: no filter
	Sysctls       []Sysctl   // written under /proc/sys before it is made read-only
	Devices       []DeviceOp // linux.devices, made after the mounts
	// RootPropagation is linux.rootfsPropagation (MS_SHARED etc.), set on
	// the new root after pivot_root; 0: it stays private.
	RootPropagation uintptr
	PopulateDev     bool // /dev is a fresh tmpfs: add the default devices
	UserNS          bool // mknod is refused: bind-mount the host's device nodes
	// Detached is an OCI `create`: the init outlives the process that
	// started it (no parent-death signal) and, once ready, waits on the
	// exec FIFO (FifoFD) until `start` opens it.
	Detached bool
	// Join is an OCI `exec`: the process already is in the container's
	// namespaces; it only applies the process settings and executes.
	Join bool
}

// ProtocolVersion changes whenever Config's encoding does. A separately
// built init binary refuses a parent that speaks another version, instead of
// misreading it.
const ProtocolVersion = 5

type MountOp struct {
	Source, Dest, Type string
	Flags              uintptr
	Propagation        uintptr // MS_SHARED etc., applied by a second mount(2)
	Data               string
}

// DeviceOp is one linux.devices entry: a node the init makes in /dev.
type DeviceOp struct {
	Path         string
	Mode         uint32 // file type and permission bits
	Major, Minor int64
	UID, GID     int64 // -1: leave as created
}

type RlimitOp struct {
	Resource   int
	Soft, Hard uint64
}

type CapsOp struct {
	Bounding, Effective, Permitted, Inheritable uint64
	Ambient                                     []uint
}

// SeccompOp is a compiled seccomp filter: seccomp(2)'s flags and the BPF
// program, instruction by instruction.
type SeccompOp struct {
	Flags   uint
	Program []unix.SockFilter
}

// Sysctl is one kernel parameter of the container's own namespaces, by its
// dotted name (net.ipv4.ping_group_range).
type Sysctl struct {
	Key, Value string
}

// Encode writes c as lines of tab-separated fields; strings are quoted so
// that no value can contain a tab or a newline.
func (c *Config) Encode() []byte {
	var b strings.Builder
	line := func(fields ...string) {
		b.WriteString(strings.Join(fields, "\t"))
		b.WriteByte('\n')
	}
	q := strconv.Quote
	bl := func(v bool) string { return strconv.FormatBool(v) }
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	line("version", strconv.Itoa(ProtocolVersion))
	line("hostname", q(c.Hostname))
	line("rootfs", q(c.Rootfs))
	line("state", q(c.StateDir))
	line("flags", bl(c.Overlay), bl(c.Readonly), bl(c.CgroupNS), q(c.CgroupVersion), bl(c.NoNewPrivs), bl(c.PopulateDev), bl(c.UserNS), bl(c.Detached), bl(c.Join))
	for _, m := range c.Mounts {
		line("mount", q(m.Source), q(m.Dest), q(m.Type), u(uint64(m.Flags)), q(m.Data), u(uint64(m.Propagation)))
	}
	for _, m := range c.CgroupMounts {
		line("cgmount", q(m.Source), q(m.Dest), q(m.Type), u(uint64(m.Flags)), q(m.Data), u(uint64(m.Propagation)))
	}
	if c.RootPropagation != 0 {
		line("rootprop", u(uint64(c.RootPropagation)))
	}
	for _, d := range c.Devices {
		line("device", q(d.Path), u(uint64(d.Mode)), strconv.FormatInt(d.Major, 10), strconv.FormatInt(d.Minor, 10),
			strconv.FormatInt(d.UID, 10), strconv.FormatInt(d.GID, 10))
	}
	for _, p := range c.MaskedPaths {
		line("mask", q(p))
	}
	for _, p := range c.ReadonlyPaths {
		line("ro", q(p))
	}
	line("exe", q(c.Exe))
	for _, a := range c.Args {
		line("arg", q(a))
	}
	for _, e := range c.Env {
		line("env", q(e))
	}
	line("cwd", q(c.Cwd))
	line("ids", u(uint64(c.UID)), u(uint64(c.GID)))
	for _, g := range c.Groups {
		line("group", u(uint64(g)))
	}
	for _, r := range c.Rlimits {
		line("rlimit", strconv.Itoa(r.Resource), u(r.Soft), u(r.Hard))
	}
	if c.OOMScoreAdj != nil {
		line("oom", strconv.Itoa(*c.OOMScoreAdj))
	}
	if k := c.Caps; k != nil {
		f := []string{"caps", u(k.Bounding), u(k.Effective), u(k.Permitted), u(k.Inheritable)}
		for _, a := range k.Ambient {
			f = append(f, u(uint64(a)))
		}
		line(f...)
	}
	for _, k := range c.Sysctls {
		line("sysctl", q(k.Key), q(k.Value))
	}
	if sc := c.Seccomp; sc != nil {
		// The program as hex of its 8-byte instructions: decoding a
		// thousand-odd instructions as decimal numbers cost the init
		// about a millisecond when measured here, hex a few µs.
		raw := make([]byte, 0, 8*len(sc.Program))
		for _, in := range sc.Program {
			raw = binary.LittleEndian.AppendUint16(raw, in.Code)
			raw = append(raw, in.Jt, in.Jf)
			raw = binary.LittleEndian.AppendUint32(raw, in.K)
		}
		line("seccomp", u(uint64(sc.Flags)), hex.EncodeToString(raw))
	}
	line("end")
	return []byte(b.String())
}

// Decode reads what Encode wrote, up to its "end" line.
func Decode(r *bufio.Reader) (*Config, error) {
	c := &Config{}
	for {
		s, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("read init config: %w", err)
		}
		f := strings.Split(strings.TrimSuffix(s, "\n"), "\t")
		if f[0] == "end" {
			return c, nil
		}
		d := fieldDecoder{f: f[1:]}
		switch f[0] {
		case "version":
			if v := d.int(); d.err == nil && v != ProtocolVersion {
				return nil, fmt.Errorf("init protocol %d, this init speaks %d: rebuild twinboot-init with twinboot (make bin)", v, ProtocolVersion)
			}
		case "hostname":
			c.Hostname = d.str()
		case "rootfs":
			c.Rootfs = d.str()
		case "state":
			c.StateDir = d.str()
		case "flags":
			c.Overlay, c.Readonly, c.CgroupNS = d.bool(), d.bool(), d.bool()
			c.CgroupVersion, c.NoNewPrivs, c.PopulateDev, c.UserNS, c.Detached, c.Join = d.str(), d.bool(), d.bool(), d.bool(), d.bool(), d.bool()
		case "mount", "cgmount":
			m := MountOp{Source: d.str(), Dest: d.str(), Type: d.str(), Flags: uintptr(d.uint()), Data: d.str(), Propagation: uintptr(d.uint())}
			if f[0] == "mount" {
				c.Mounts = append(c.Mounts, m)
			} else {
				c.CgroupMounts = append(c.CgroupMounts, m)
			}
		case "rootprop":
			c.RootPropagation = uintptr(d.uint())
		case "device":
			c.Devices = append(c.Devices, DeviceOp{Path: d.str(), Mode: uint32(d.uint()), Major: d.int(), Minor: d.int(), UID: d.int(), GID: d.int()})
		case "mask":
			c.MaskedPaths = append(c.MaskedPaths, d.str())
		case "ro":
			c.ReadonlyPaths = append(c.ReadonlyPaths, d.str())
		case "exe":
			c.Exe = d.str()
		case "arg":
			c.Args = append(c.Args, d.str())
		case "env":
			c.Env = append(c.Env, d.str())
		case "cwd":
			c.Cwd = d.str()
		case "ids":
			c.UID, c.GID = uint32(d.uint()), uint32(d.uint())
		case "group":
			c.Groups = append(c.Groups, uint32(d.uint()))
		case "rlimit":
			c.Rlimits = append(c.Rlimits, RlimitOp{Resource: int(d.uint()), Soft: d.uint(), Hard: d.uint()})
		case "oom":
			n := int(d.int())
			c.OOMScoreAdj = &n
		case "caps":
			k := &CapsOp{Bounding: d.uint(), Effective: d.uint(), Permitted: d.uint(), Inheritable: d.uint()}
			for len(d.f) > 0 && d.err == nil {
				k.Ambient = append(k.Ambient, uint(d.uint()))
			}
			c.Caps = k
		case "sysctl":
			c.Sysctls = append(c.Sysctls, Sysctl{Key: d.str(), Value: d.str()})
		case "seccomp":
			sc := &SeccompOp{Flags: uint(d.uint())}
			raw, err := hex.DecodeString(d.next())
			if err != nil || len(raw)%8 != 0 {
				return nil, fmt.Errorf("init config: seccomp program is not whole instructions (%d bytes, %v)", len(raw), err)
			}
			sc.Program = make([]unix.SockFilter, len(raw)/8)
			for i := range sc.Program {
				in := raw[8*i:]
				sc.Program[i] = unix.SockFilter{Code: binary.LittleEndian.Uint16(in), Jt: in[2], Jf: in[3], K: binary.LittleEndian.Uint32(in[4:])}
			}
			c.Seccomp = sc
		default:
			return nil, fmt.Errorf("init config: unknown line %q", f[0])
		}
		if d.err != nil {
			return nil, fmt.Errorf("init config line %q: %w", f[0], d.err)
		}
	}
}

type fieldDecoder struct {
	f   []string
	err error
}

func (d *fieldDecoder) next() string {
	if len(d.f) == 0 {
		if d.err == nil {
			d.err = fmt.Errorf("missing field")
		}
		return ""
	}
	s := d.f[0]
	d.f = d.f[1:]
	return s
}

func (d *fieldDecoder) str() string {
	s, err := strconv.Unquote(d.next())
	if err != nil && d.err == nil {
		d.err = err
	}
	return s
}

func (d *fieldDecoder) uint() uint64 {
	v, err := strconv.ParseUint(d.next(), 10, 64)
	if err != nil && d.err == nil {
		d.err = err
	}
	return v
}

func (d *fieldDecoder) int() int64 {
	v, err := strconv.ParseInt(d.next(), 10, 64)
	if err != nil && d.err == nil {
		d.err = err
	}
	return v
}

func (d *fieldDecoder) bool() bool {
	v, err := strconv.ParseBool(d.next())
	if err != nil && d.err == nil {
		d.err = err
	}
	return v
}

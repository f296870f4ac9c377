package container

import (
	"encoding/binary"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// seccompData is the kernel's struct seccomp_data, the filter's input, laid
// out for x/net/bpf's interpreter: the kernel loads 32-bit words in the
// machine's (little-endian) order, the interpreter in network order, so each
// word is written big-endian where the kernel would find it (an argument's
// low half first, as on x86-64).
func seccompData(arch uint32, nr int, args ...uint64) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[0:], uint32(nr))
	binary.BigEndian.PutUint32(b[4:], arch)
	for i, a := range args {
		binary.BigEndian.PutUint32(b[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(b[16+8*i+4:], uint32(a>>32))
	}
	return b
}

// runFilter executes a compiled filter on one system call, in x/net/bpf's
// interpreter, and returns the filter's verdict.
func runFilter(t *testing.T, s *specs.LinuxSeccomp, arch uint32, nr int, args ...uint64) uint32 {
	t.Helper()
	op, err := compileSeccomp(s)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	raw := make([]bpf.RawInstruction, len(op.Program))
	for i, in := range op.Program {
		raw[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	insts, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("filter does not disassemble")
	}
	vm, err := bpf.NewVM(insts)
	if err != nil {
		t.Fatalf("filter rejected by the interpreter: %v", err)
	}
	v, err := vm.Run(seccompData(arch, nr, args...))
	if err != nil {
		t.Fatal(err)
	}
	return uint32(v)
}

const (
	auditArchX86_64 = 0xc000003e
	auditArchI386   = 0x40000003
	retAllow        = unix.SECCOMP_RET_ALLOW
	retEPERM        = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
)

// The engines' default profile, compiled here, answers as it does under
// runc: everyday calls pass; the calls that act on the whole machine fail
// with EPERM; argument rules (socket domains, clone flags) are honoured.
func TestDefaultSeccompProfile(t *testing.T) {
	prof := DefaultSpec("/", nil).Linux.Seccomp
	if prof == nil || len(prof.Syscalls) == 0 {
		t.Fatal("the default spec has no seccomp profile")
	}
	for _, c := range []struct {
		name string
		arch uint32
		nr   int
		args []uint64
		want uint32
	}{
		{"getppid", auditArchX86_64, unix.SYS_GETPPID, nil, retAllow},
		{"execve", auditArchX86_64, unix.SYS_EXECVE, nil, retAllow},
		{"socket(AF_INET)", auditArchX86_64, unix.SYS_SOCKET, []uint64{unix.AF_INET}, retAllow},
		{"socket(AF_NETLINK)", auditArchX86_64, unix.SYS_SOCKET, []uint64{unix.AF_NETLINK}, retAllow},
		{"socket(AF_VSOCK)", auditArchX86_64, unix.SYS_SOCKET, []uint64{unix.AF_VSOCK}, retEPERM},
		{"clone(plain thread)", auditArchX86_64, unix.SYS_CLONE, []uint64{unix.CLONE_VM | unix.CLONE_THREAD}, retAllow},
		{"clone(CLONE_NEWUSER)", auditArchX86_64, unix.SYS_CLONE, []uint64{unix.CLONE_NEWUSER}, retEPERM},
		{"unshare", auditArchX86_64, unix.SYS_UNSHARE, []uint64{unix.CLONE_NEWUSER}, retEPERM},
		{"mount", auditArchX86_64, unix.SYS_MOUNT, nil, retEPERM},
		{"kexec_load", auditArchX86_64, unix.SYS_KEXEC_LOAD, nil, retEPERM},
		{"init_module", auditArchX86_64, unix.SYS_INIT_MODULE, nil, retEPERM},
		{"keyctl", auditArchX86_64, unix.SYS_KEYCTL, nil, retEPERM},
		{"syslog", auditArchX86_64, unix.SYS_SYSLOG, nil, retEPERM},
		{"i386 getpid", auditArchI386, 20, nil, retEPERM},
		{"x32 getpid", auditArchX86_64, unix.SYS_GETPID | 0x40000000, nil, retEPERM},
	} {
		if got := runFilter(t, prof, c.arch, c.nr, c.args...); got != c.want {
			t.Errorf("%s: verdict %#x, want %#x", c.name, got, c.want)
		}
	}
	// CAP_SYS_ADMIN brings mount and unshare back, as in the engines.
	s, err := NewSpec("/", nil, []string{"SYS_ADMIN"})
	if err != nil {
		t.Fatal(err)
	}
	if got := runFilter(t, s.Linux.Seccomp, auditArchX86_64, unix.SYS_MOUNT); got != retAllow {
		t.Errorf("mount with CAP_SYS_ADMIN: verdict %#x, want allow", got)
	}
}

// Every comparison operator, on values that differ in the high half, the
// low half or both, gives the verdict Go's own comparison gives: the
// compiler's 64-bit tests on 32-bit halves are right.
func TestSeccompArgumentOperators(t *testing.T) {
	values := []uint64{0, 1, 2, 0xffffffff, 0x100000000, 0x100000001, 0x1ffffffff, 0xffffffff00000000, ^uint64(0)}
	ops := map[specs.LinuxSeccompOperator]func(arg, v uint64) bool{
		specs.OpEqualTo:      func(a, v uint64) bool { return a == v },
		specs.OpNotEqual:     func(a, v uint64) bool { return a != v },
		specs.OpLessThan:     func(a, v uint64) bool { return a < v },
		specs.OpLessEqual:    func(a, v uint64) bool { return a <= v },
		specs.OpGreaterThan:  func(a, v uint64) bool { return a > v },
		specs.OpGreaterEqual: func(a, v uint64) bool { return a >= v },
	}
	for op, want := range ops {
		for _, v := range values {
			prof := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
				{Names: []string{"getpid"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 2, Value: v, Op: op}}},
			}}
			for _, arg := range values {
				got := runFilter(t, prof, auditArchX86_64, unix.SYS_GETPID, 0, 0, arg) == retAllow
				if got != want(arg, v) {
					t.Errorf("arg %#x %s %#x: filter says %v", arg, op, v, got)
				}
			}
		}
	}
	// (arg & value) == valueTwo, with a mask across both halves.
	mask, eq := uint64(0x0000000f000000f0), uint64(0x0000000300000010)
	prof := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"getpid"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: mask, ValueTwo: eq, Op: specs.OpMaskedEqual}}},
	}}
	for _, arg := range append(values, 0x0000000300000010, 0xf0000003f0000017, 0x0000000300000020) {
		got := runFilter(t, prof, auditArchX86_64, unix.SYS_GETPID, arg) == retAllow
		if want := arg&mask == eq; got != want {
			t.Errorf("arg %#x & %#x == %#x: filter says %v", arg, mask, eq, got)
		}
	}
	// Two arguments in one rule must both hold; the first rule that matches
	// decides; a later rule still matches after an earlier one's test failed.
	prof = &specs.LinuxSeccomp{DefaultAction: specs.ActKillProcess, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"getpid"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: specs.OpEqualTo}, {Index: 1, Value: 2, Op: specs.OpEqualTo}}},
		{Names: []string{"getpid"}, Action: specs.ActErrno, ErrnoRet: new(uint(38)), Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: specs.OpEqualTo}}},
		{Names: []string{"getppid"}, Action: specs.ActAllow},
	}}
	for _, c := range []struct {
		nr   int
		args []uint64
		want uint32
	}{
		{unix.SYS_GETPID, []uint64{1, 2}, retAllow},
		{unix.SYS_GETPID, []uint64{1, 3}, unix.SECCOMP_RET_ERRNO | 38},
		{unix.SYS_GETPID, []uint64{2, 2}, unix.SECCOMP_RET_KILL_PROCESS},
		{unix.SYS_GETPPID, nil, retAllow},
	} {
		if got := runFilter(t, prof, auditArchX86_64, c.nr, c.args...); got != c.want {
			t.Errorf("nr %d args %v: verdict %#x, want %#x", c.nr, c.args, got, c.want)
		}
	}
}

// A profile the runtime cannot honour exactly is refused, naming the field.
func TestSeccompRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		prof specs.LinuxSeccomp
		want string
	}{
		{"notify", specs.LinuxSeccomp{DefaultAction: specs.ActNotify}, "SCMP_ACT_NOTIFY"},
		{"unknown action", specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_MAYBE"}, "SCMP_ACT_MAYBE"},
		{"other arch only", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchAARCH64}}, "architectures"},
		{"bad index", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}}, "index 6"},
		{"bad op", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_ABOUT"}}}}}, "SCMP_CMP_ABOUT"},
		{"bad flag", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_NEW_LISTENER"}}, "NEW_LISTENER"},
	} {
		_, err := compileSeccomp(&c.prof)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %q", c.name, err, c.want)
		}
	}
}

// The compiled default profile agrees, for every system call number of the
// table and a spread of argument values, with the rules read directly
// (first matching rule wins): the search tree and the chains lose nothing.
func TestSeccompMatchesRules(t *testing.T) {
	prof := DefaultSpec("/", nil).Linux.Seccomp
	def, _ := seccompReturn(prof.DefaultAction, prof.DefaultErrnoRet)
	verdict := func(nr int, args []uint64) uint32 {
		for _, r := range prof.Syscalls {
			named := false
			for _, n := range r.Names {
				if seccompSyscalls[n] == nr {
					named = true
				}
			}
			if !named {
				continue
			}
			ok := true
			for _, a := range r.Args {
				v := args[a.Index]
				switch a.Op {
				case specs.OpEqualTo:
					ok = ok && v == a.Value
				case specs.OpNotEqual:
					ok = ok && v != a.Value
				case specs.OpLessThan:
					ok = ok && v < a.Value
				case specs.OpLessEqual:
					ok = ok && v <= a.Value
				case specs.OpGreaterThan:
					ok = ok && v > a.Value
				case specs.OpGreaterEqual:
					ok = ok && v >= a.Value
				case specs.OpMaskedEqual:
					ok = ok && v&a.Value == a.ValueTwo
				}
			}
			if ok {
				ret, _ := seccompReturn(r.Action, r.ErrnoRet)
				return ret
			}
		}
		return def
	}
	argSets := [][]uint64{
		{0, 0, 0, 0, 0, 0}, {1, 2, 3, 4, 5, 6}, {16, 3, 0, 0, 0, 0}, {40, 1, 0, 0, 0, 0},
		{unix.CLONE_NEWUSER, 0, 0, 0, 0, 0}, {0xffffffff, 0x20008, 8, 0, 0, 0}, {^uint64(0), ^uint64(0), 0, 0, 0, 0},
	}
	op, err := compileSeccomp(prof)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("default profile: %d rules, %d instructions", len(prof.Syscalls), len(op.Program))
	for nr := 0; nr < 470; nr++ {
		for _, args := range argSets {
			if got, want := runFilter(t, prof, auditArchX86_64, nr, args...), verdict(nr, args); got != want {
				t.Errorf("nr %d args %v: filter %#x, rules %#x", nr, args, got, want)
			}
		}
	}
}

// With every capability given back, the profile is at its largest; it must
// still fit the kernel's limit.
func TestSeccompLargestProfileFits(t *testing.T) {
	s, err := NewSpec("/", nil, []string{"ALL"})
	if err != nil {
		t.Fatal(err)
	}
	op, err := compileSeccomp(s.Linux.Seccomp)
	if err != nil {
		t.Fatal(err)
	}
	if len(op.Program) > bpfMaxInstructions {
		t.Errorf("%d instructions", len(op.Program))
	}
}

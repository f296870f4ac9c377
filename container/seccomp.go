package container

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/container/internal/ctinit"
)

// Seccomp: the kernel runs a small classic-BPF program on every system call
// the workload makes, and the program's answer (allow, fail with an errno,
// kill) is final. The OCI config describes the program as rules
// (linux.seccomp); here, in the parent and in pure Go, they become the
// instructions the kernel loads. The init only hands those to seccomp(2)
// (ctinit/seccomp_unsafe_linux.go), so twinboot-init stays a small static
// binary with no libseccomp.
//
// The program reads struct seccomp_data (nr at 0, arch at 4, six 64-bit
// arguments from 16):
//
//	ld arch; if not x86-64: return default
//	ld nr;   if x32:        return default
//	a binary search on nr over the system calls the rules name, down to
//	  that call's chain (or to the default, for one no rule names)
//	chain of nr: its rules, in the config's order:
//	  no arguments: return action
//	  arguments:    each argument test (on 32-bit halves); a failed one
//	                goes on to the next rule; all passed: return action
//	  return default
//
// The first rule that matches decides, as libseccomp does for the profiles
// engines write. Why a search and not one long list: when a filter is
// loaded, the kernel runs it once for every system call number to find the
// calls whose answer never depends on their arguments (most of them), and
// from then on skips the program for those. On a list of ~850 instructions
// that first pass alone cost about 3 ms of every container's start when
// measured here; with the search each number takes a dozen instructions.
// (libseccomp builds the same tree at its optimisation level 2.)
//
// elastic/go-seccomp-bpf was the first choice for assembling. Its syscall
// name table is used (seccomp_amd64.go), but not its assembler: v1.6.0 does
// not reload the system call number after an argument test, so after one
// rule with arguments no later rule could match (the default profile allows
// socket() by domain, one rule per domain, and socket(AF_NETLINK) was
// refused; TestDefaultSeccompProfile checks it).

// bpfMaxInstructions is the kernel's limit on a filter (BPF_MAXINSNS).
const bpfMaxInstructions = 4096

// compiledSeccomp caches programs by their rules: every container a process
// starts with the same profile (the benchmark, the lab) compiles it once.
var compiledSeccomp sync.Map // string (fingerprint) → *ctinit.SeccompOp

// compileSeccomp turns the config's seccomp rules into a loadable filter.
func compileSeccomp(s *specs.LinuxSeccomp) (*ctinit.SeccompOp, error) {
	key := seccompFingerprint(s)
	if op, ok := compiledSeccomp.Load(key); ok {
		return op.(*ctinit.SeccompOp), nil
	}
	op, err := assembleSeccomp(s)
	if err != nil {
		return nil, err
	}
	compiledSeccomp.Store(key, op)
	return op, nil
}

func assembleSeccomp(s *specs.LinuxSeccomp) (*ctinit.SeccompOp, error) {
	if !nativeArchListed(s.Architectures) {
		return nil, fmt.Errorf("%w: linux.seccomp.architectures %v does not include %s, the only one this runtime filters",
			ErrUnsupported, s.Architectures, seccompSpecArch)
	}
	def, err := seccompReturn(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp.defaultAction: %w", err)
	}
	flags, err := seccompFlags(s.Flags)
	if err != nil {
		return nil, err
	}
	// Each system call's chain of rules, in the config's order.
	chains := map[uint32][]bpf.Instruction{}
	for i, rule := range s.Syscalls {
		ret, err := seccompReturn(rule.Action, rule.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("linux.seccomp.syscalls[%d]: %w", i, err)
		}
		var tests []bpf.Instruction
		for j, a := range rule.Args {
			t, err := argumentTest(a)
			if err != nil {
				return nil, fmt.Errorf("linux.seccomp.syscalls[%d].args[%d]: %w", i, j, err)
			}
			tests = append(tests, t...)
		}
		for _, name := range rule.Names {
			// A profile names every system call any kernel might have;
			// names the table does not know are left out, as runc and
			// libseccomp leave them out.
			nr, known := seccompSyscalls[name]
			if !known {
				continue
			}
			chains[uint32(nr)] = append(chains[uint32(nr)], ruleBlock(tests, ret)...)
		}
	}
	prog := buildFilter(chains, def)
	if len(prog) > bpfMaxInstructions {
		return nil, fmt.Errorf("%w: linux.seccomp compiles to %d instructions, over the kernel's %d", ErrUnsupported, len(prog), bpfMaxInstructions)
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("assemble seccomp filter: %w", err)
	}
	op := &ctinit.SeccompOp{Flags: flags, Program: make([]unix.SockFilter, len(raw))}
	for i, r := range raw {
		op.Program[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return op, nil
}

func loadWord(off uint32) bpf.Instruction { return bpf.LoadAbsolute{Off: off, Size: 4} }

// failJump marks, in an argument test, a jump to the rule's "fail" exit;
// ruleBlock replaces it with the real distance. (No real jump in a test is
// this long: a test is at most seven instructions.)
const failJump = 255

// ruleBlock is one rule in a system call's chain: its argument tests, then
// the action. A failed test falls through to the next rule in the chain.
func ruleBlock(tests []bpf.Instruction, ret uint32) []bpf.Instruction {
	n := len(tests)
	block := make([]bpf.Instruction, 0, n+1)
	for i, in := range tests {
		toFail := uint8(n - i) // from test i past the remaining tests and the ret
		if j, ok := in.(bpf.JumpIf); ok {
			if j.SkipTrue == failJump {
				j.SkipTrue = toFail
			}
			if j.SkipFalse == failJump {
				j.SkipFalse = toFail
			}
			in = j
		}
		block = append(block, in)
	}
	return append(block, bpf.RetConstant{Val: ret})
}

// buildFilter lays out the whole program: the architecture and x32 checks,
// the search tree on the system call number, then the chains. A conditional
// jump reaches only 255 instructions ahead, so the tree's far branches and
// its leaves are unconditional jumps (ja, 32-bit offsets), resolved once
// every chain's place is known.
func buildFilter(chains map[uint32][]bpf.Instruction, def uint32) []bpf.Instruction {
	nrs := make([]uint32, 0, len(chains))
	for nr := range chains {
		nrs = append(nrs, nr)
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })

	a := &filterAsm{}
	a.emit(loadWord(4))
	a.emit(bpf.JumpIf{Cond: bpf.JumpEqual, Val: seccompArch, SkipTrue: 1})
	a.emit(bpf.RetConstant{Val: def})
	a.emit(loadWord(0))
	a.emit(bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: seccompX32Bit, SkipFalse: 1})
	a.emit(bpf.RetConstant{Val: def})
	a.tree(nrs)
	a.place(labelDefault)
	a.emit(bpf.RetConstant{Val: def})
	for _, nr := range nrs {
		a.place(chainLabel(nr))
		for _, in := range chains[nr] {
			a.emit(in)
		}
		a.emit(bpf.RetConstant{Val: def})
	}
	return a.resolve()
}

// filterAsm is the few lines of assembler the layout needs: instructions,
// named places, and ja instructions to fill in.
type filterAsm struct {
	prog   []bpf.Instruction
	labels map[int64]int // label → index
	jumps  map[int]int64 // index of a ja → its label
	branch int64         // right branches made so far (their labels)
}

// Labels: a chain is labelled by its system call number, the default return
// by -1, the tree's right branches from 2^40 up (above any number).
const (
	labelDefault = -1
	labelBranch  = 1 << 40
)

func chainLabel(nr uint32) int64 { return int64(nr) }

func (a *filterAsm) emit(in bpf.Instruction) { a.prog = append(a.prog, in) }

func (a *filterAsm) place(label int64) {
	if a.labels == nil {
		a.labels = map[int64]int{}
	}
	a.labels[label] = len(a.prog)
}

func (a *filterAsm) jumpTo(label int64) {
	if a.jumps == nil {
		a.jumps = map[int]int64{}
	}
	a.jumps[len(a.prog)] = label
	a.emit(bpf.Jump{})
}

// tree emits the search over the sorted numbers: a few are compared one by
// one; more are split at the middle (nr >= mid: the right half).
func (a *filterAsm) tree(nrs []uint32) {
	if len(nrs) <= 4 {
		for _, nr := range nrs {
			a.emit(bpf.JumpIf{Cond: bpf.JumpEqual, Val: nr, SkipFalse: 1})
			a.jumpTo(chainLabel(nr))
		}
		a.jumpTo(labelDefault)
		return
	}
	mid := len(nrs) / 2
	right := labelBranch + a.branch
	a.branch++
	a.emit(bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: nrs[mid], SkipFalse: 1})
	a.jumpTo(right)
	a.tree(nrs[:mid])
	a.place(right)
	a.tree(nrs[mid:])
}

func (a *filterAsm) resolve() []bpf.Instruction {
	for at, label := range a.jumps {
		a.prog[at] = bpf.Jump{Skip: uint32(a.labels[label] - at - 1)}
	}
	return a.prog
}

// argumentTest is one argument comparison on the two 32-bit halves. Falling
// off its end means it passed; failJump means it failed. Classic BPF
// compares A with a constant by ==, >, >= and bit test only, so < and <=
// are the negations of >= and >.
func argumentTest(a specs.LinuxSeccompArg) ([]bpf.Instruction, error) {
	if a.Index > 5 {
		return nil, fmt.Errorf("%w: seccomp argument index %d (a system call has 6)", ErrBadConfig, a.Index)
	}
	off := 16 + 8*uint32(a.Index)
	hi, lo := loadWord(off+seccompArgHi), loadWord(off+seccompArgLo)
	vh, vl := uint32(a.Value>>32), uint32(a.Value)
	const F = failJump
	switch a.Op {
	case specs.OpEqualTo:
		return []bpf.Instruction{hi, bpf.JumpIf{Cond: bpf.JumpEqual, Val: vh, SkipFalse: F},
			lo, bpf.JumpIf{Cond: bpf.JumpEqual, Val: vl, SkipFalse: F}}, nil
	case specs.OpNotEqual:
		// Passed as soon as one half differs.
		return []bpf.Instruction{hi, bpf.JumpIf{Cond: bpf.JumpEqual, Val: vh, SkipFalse: 2},
			lo, bpf.JumpIf{Cond: bpf.JumpEqual, Val: vl, SkipTrue: F}}, nil
	case specs.OpGreaterThan, specs.OpGreaterEqual:
		loCond := bpf.JumpGreaterThan
		if a.Op == specs.OpGreaterEqual {
			loCond = bpf.JumpGreaterOrEqual
		}
		// hi > vh passes; hi < vh fails; equal: decide on the low half.
		return []bpf.Instruction{hi, bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: vh, SkipTrue: 3},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: vh, SkipFalse: F},
			lo, bpf.JumpIf{Cond: loCond, Val: vl, SkipFalse: F}}, nil
	case specs.OpLessThan, specs.OpLessEqual:
		// lo < vl is "not lo >= vl"; lo <= vl is "not lo > vl".
		loCond := bpf.JumpGreaterOrEqual
		if a.Op == specs.OpLessEqual {
			loCond = bpf.JumpGreaterThan
		}
		// hi < vh passes; hi > vh fails; equal: decide on the low half.
		return []bpf.Instruction{hi, bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: vh, SkipFalse: 3},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: vh, SkipFalse: F},
			lo, bpf.JumpIf{Cond: loCond, Val: vl, SkipTrue: F}}, nil
	case specs.OpMaskedEqual:
		// (arg & value) == valueTwo, half by half.
		mh, ml := uint32(a.Value>>32), uint32(a.Value)
		wh, wl := uint32(a.ValueTwo>>32), uint32(a.ValueTwo)
		return []bpf.Instruction{
			hi, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mh}, bpf.JumpIf{Cond: bpf.JumpEqual, Val: wh, SkipFalse: F},
			lo, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: ml}, bpf.JumpIf{Cond: bpf.JumpEqual, Val: wl, SkipFalse: F},
		}, nil
	}
	return nil, fmt.Errorf("%w: unknown seccomp operator %q", ErrBadConfig, a.Op)
}

// seccompReturn is the value the filter returns for an OCI action.
func seccompReturn(a specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	data := uint32(unix.EPERM)
	if errnoRet != nil {
		data = uint32(*errnoRet) & unix.SECCOMP_RET_DATA
	}
	switch a {
	case specs.ActAllow:
		return unix.SECCOMP_RET_ALLOW, nil
	case specs.ActErrno:
		return unix.SECCOMP_RET_ERRNO | data, nil
	case specs.ActKill, specs.ActKillThread:
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case specs.ActKillProcess:
		return unix.SECCOMP_RET_KILL_PROCESS, nil
	case specs.ActTrap:
		return unix.SECCOMP_RET_TRAP, nil
	case specs.ActTrace:
		return unix.SECCOMP_RET_TRACE | data, nil
	case specs.ActLog:
		return unix.SECCOMP_RET_LOG, nil
	case specs.ActNotify:
		return 0, fmt.Errorf("%w: seccomp action %s (a user-space supervisor) is not implemented", ErrUnsupported, a)
	}
	return 0, fmt.Errorf("%w: unknown seccomp action %q", ErrBadConfig, a)
}

// seccompFlags maps the OCI filter flags onto seccomp(2)'s.
func seccompFlags(names []specs.LinuxSeccompFlag) (uint, error) {
	var f uint
	for _, n := range names {
		switch n {
		case specs.LinuxSeccompFlagLog:
			f |= unix.SECCOMP_FILTER_FLAG_LOG
		case specs.LinuxSeccompFlagSpecAllow:
			f |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		case specs.LinuxSeccompFlagWaitKillableRecv:
			// Only meaningful with a user-space listener, which is refused.
		default:
			return 0, fmt.Errorf("%w: seccomp flag %q", ErrUnsupported, n)
		}
	}
	return f, nil
}

// nativeArchListed reports whether the rules apply to x86-64 system calls.
// An empty list means the native architecture. The other architectures a
// profile lists (x86, x32: the default profile does) get no rules of their
// own here: their system calls meet the default action. A static x86-64
// workload makes none.
func nativeArchListed(archs []specs.Arch) bool {
	if len(archs) == 0 {
		return true
	}
	for _, a := range archs {
		if a == seccompSpecArch {
			return true
		}
	}
	return false
}

// seccompFingerprint is an exact key for the cache: every field that changes
// the program, in order.
func seccompFingerprint(s *specs.LinuxSeccomp) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%v/%v/%v;", s.DefaultAction, derefUint(s.DefaultErrnoRet), s.Architectures, s.Flags)
	for _, r := range s.Syscalls {
		fmt.Fprintf(&b, "%s/%v/%v/%v;", r.Action, derefUint(r.ErrnoRet), r.Names, r.Args)
	}
	return b.String()
}

func derefUint(p *uint) any {
	if p == nil {
		return "-"
	}
	return *p
}

package container

import (
	"github.com/elastic/go-seccomp-bpf/arch"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The x86-64 facts the seccomp compiler needs (seccomp.go).
const (
	// seccompArch is the one architecture whose system calls the filter
	// judges by the rules: AUDIT_ARCH_X86_64, in seccomp_data.arch.
	seccompArch = 0xc000003e
	// seccompX32Bit marks an x32 system call (x86-64 registers, 32-bit
	// pointers): those numbers are not the native ones, and meet the
	// default action.
	seccompX32Bit = 0x40000000
	// An argument is 64 bits at 16+8*i in seccomp_data; classic BPF loads
	// 32 at a time, and x86-64 is little-endian: the low half comes first.
	seccompArgLo = 0
	seccompArgHi = 4
)

// seccompSpecArch is the runtime-spec name of seccompArch.
const seccompSpecArch = specs.ArchX86_64

// seccompSyscalls maps x86-64 system call names to numbers (elastic's
// table, generated from the kernel's).
var seccompSyscalls = arch.X86_64.SyscallNames

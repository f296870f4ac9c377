#include "textflag.h"

// func outb(port uint16, val uint8)
//
// One OUT instruction. In a VM it traps to the hypervisor (a KVM_EXIT_IO),
// which is how the probe tells twinboot's VMM, or QEMU's isa-debug-exit
// device, that it is done and with which status.
TEXT ·outb(SB), NOSPLIT, $0-3
	MOVW port+0(FP), DX
	MOVB val+2(FP), AX
	OUTB
	RET

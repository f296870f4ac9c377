package hypervisor

import "errors"

// Sentinel errors, for callers that branch on what went wrong. Errors
// returned by this package wrap one of these with the details (path, sizes).
var (
	// ErrNoKVM means the KVM device does not exist: the kernel has no KVM
	// module, or this is a container without /dev/kvm.
	ErrNoKVM = errors.New("no KVM device")
	// ErrKVMPermission means /dev/kvm exists but this process may not open
	// it (not root, not in the kvm group).
	ErrKVMPermission = errors.New("no permission to open the KVM device")
	// ErrKVMAPI means /dev/kvm answered with an API version this code does
	// not speak, or lacks a capability the VMM needs.
	ErrKVMAPI = errors.New("unsupported KVM API")
	// ErrNoKernel means the kernel file does not exist or cannot be read.
	ErrNoKernel = errors.New("kernel not found")
	// ErrNotKernel means the file is neither a bzImage nor an ELF vmlinux
	// with a PVH entry note.
	ErrNotKernel = errors.New("not a bootable kernel (neither bzImage nor ELF vmlinux with a PVH note)")
	// Err32BitKernel means the kernel can only be entered in 32-bit mode
	// through the legacy protocol; this VMM enters bzImages at their 64-bit
	// entry point.
	Err32BitKernel = errors.New("kernel has no 64-bit entry point (32-bit-only kernel)")
	// ErrOldProtocol means a bzImage older than boot protocol 2.06.
	ErrOldProtocol = errors.New("bzImage boot protocol older than 2.06")
	// ErrNoInitrd means the initrd file does not exist or cannot be read.
	ErrNoInitrd = errors.New("initrd not found")
	// ErrMemTooSmall means the configured RAM is below MinMem or cannot
	// hold the kernel.
	ErrMemTooSmall = errors.New("guest memory too small")
	// ErrMemTooLarge means the configured RAM would overlap the 32-bit
	// device area (local APIC, I/O APIC) at the top of the first 4 GiB.
	ErrMemTooLarge = errors.New("guest memory too large")
	// ErrInitrdTooLarge means the initrd does not fit between the kernel and
	// the top of low RAM (or the kernel's initrd_addr_max).
	ErrInitrdTooLarge = errors.New("initrd does not fit in guest memory")
	// ErrCmdlineTooLong means the command line exceeds what the kernel
	// accepts (its cmdline_size) or the space reserved for it.
	ErrCmdlineTooLong = errors.New("kernel command line too long")
	// ErrBadCPUs means a vCPU count outside 1..MaxCPUs.
	ErrBadCPUs = errors.New("bad vCPU count")

	// ErrBadTimeout means a negative time limit.
	ErrBadTimeout = errors.New("bad timeout")
	// ErrTimeout means the guest did not finish within Config.Timeout.
	ErrTimeout = errors.New("guest did not finish in time")
	// ErrGuestFailed means the run ended in a non-clean way (panic, triple
	// fault, KVM internal error, entry failure); Result.Reason says which.
	ErrGuestFailed = errors.New("guest run failed")
	// ErrUnsupported means this platform is not x86-64 Linux.
	ErrUnsupported = errors.New("hypervisor not supported on this platform")
	// ErrClosed means Run was called on a closed or already-run VM.
	ErrClosed = errors.New("VM closed or already run")
	// ErrGuestAddress means a guest-written address or length points
	// outside guest RAM, or is misaligned: a device refuses it.
	ErrGuestAddress = errors.New("guest address outside RAM")
	// ErrVirtqueue means a guest-written virtqueue is malformed (a descriptor
	// loop, a chain longer than the queue, an index out of range); the
	// device that met it marks itself as needing a reset.
	ErrVirtqueue = errors.New("malformed virtqueue")
	// ErrBadRequest means a device request (a virtio-blk header, a
	// virtio-net frame) is malformed; the request fails.
	ErrBadRequest = errors.New("malformed device request")
	// ErrNoDisk means a --disk image does not exist or cannot be opened.
	ErrNoDisk = errors.New("disk image not found")
	// ErrNoTAP means the TAP device for the NIC does not exist or cannot be
	// attached to.
	ErrNoTAP = errors.New("TAP device not available")
	// ErrTooManyDevices means more virtio devices than free interrupt lines.
	ErrTooManyDevices = errors.New("too many virtio devices")
)

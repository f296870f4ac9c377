package hypervisor

import (
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/internal/event"
)

// DefaultCmdline is the kernel command line used when Config.Cmdline is
// empty. Each word earns its place:
//
//   - console=ttyS0: the kernel's console is our UART, the only output device.
//   - quiet: the console costs VM exits, one per byte written and about one
//     per byte polled. Measured in nested mode with the lab kernel: 12,360
//     exits to READY without it (6,220 on the data port, 5,694 on the line
//     status port), 602 with it.
//   - reboot=t: reboot by triple fault, which KVM reports as
//     KVM_EXIT_SHUTDOWN; we emulate no keyboard controller or ACPI to reset
//     through.
//   - panic=-1: on panic, reboot at once instead of hanging, so a broken
//     guest ends the run (the panic text on the console names the reason).
//   - i8042.noaux, i8042.nokbd: do not probe for a PS/2 controller we lack.
//     The lab kernel has no i8042 driver, so for it they change nothing;
//     they help a user's kernel (Debian's has the driver).
//   - twinboot.mode=poweroff: the probe prints READY and then writes its
//     status to the exit port.
//
// noapic is not needed: the MP table routes ISA interrupts as KVM wires
// them (see mptable.go); booting with noapic measured the same.
const DefaultCmdline = "console=ttyS0 quiet reboot=t panic=-1 i8042.noaux i8042.nokbd " + report.ParamMode + "=" + report.ModePoweroff

const (
	// MinMem is the smallest guest RAM New accepts for a Linux guest: the
	// kernel decompresses itself at 16 MiB and a Go probe needs room above
	// that.
	MinMem uint64 = 32 << 20
	// MaxMem keeps guest RAM below the 32-bit device area (I/O APIC at
	// 0xfec00000, local APIC at 0xfee00000) so that one memory slot is enough.
	MaxMem uint64 = 3 << 30
	// MaxCPUs is the most vCPUs the MP table and the APIC ID scheme support
	// here (the I/O APIC takes the next ID).
	MaxCPUs = 64
	// DefaultMem and DefaultTimeout are the CLI's defaults.
	DefaultMem     uint64 = 128 << 20
	DefaultTimeout        = 30 * time.Second
)

// Config describes one VM. Kernel is a bzImage or an ELF vmlinux with a PVH
// note; which one is decided by its contents, not its name.
//
// A Config travels whole, as JSON, to the VMM process that runs the VM
// (package hypervisor/vmm): every field that is plain data passes through
// unchanged, new ones included. Fields that cannot travel (writers,
// readers, sinks, the start instant on this process's clock) are tagged
// `json:"-"` and wired by package vmm over the process's pipes.
type Config struct {
	Kernel   string
	Initrd   string // optional
	Cmdline  string // DefaultCmdline when empty
	MemBytes uint64 // honoured exactly; must be at least MinMem
	CPUs     int    // 0 means 1
	// Console receives the guest's serial output, a line (or a short burst)
	// at a time, never a write per byte.
	Console io.Writer `json:"-"`
	// Input, if set, feeds the UART's receiver: what a user types into the
	// lab's shell. It is read by a goroutine until it returns an error.
	Input io.Reader `json:"-"`
	// Events receives event.Phase values as the boot progresses and
	// event.Console values as console output is flushed.
	Events  event.Sink    `json:"-"`
	Timeout time.Duration // 0 means no limit beyond the Run context

	// Start is the instant phases are measured from ("process start"); the
	// CLI passes the time its process started. Zero means the call to New.
	Start time.Time `json:"-"`
	// Emulated marks every phase as measured on an emulated machine (nested
	// mode), so that nobody compares it with native figures.
	Emulated bool
	// Device is the KVM device node; empty means /dev/kvm. Tests point it
	// elsewhere to prove the errors for a missing or unopenable device.
	Device string

	// Disks are virtio-blk disks on raw image files, in order: the guest's
	// /dev/vda, /dev/vdb, ... The VMM opens them itself.
	Disks []Disk `json:"disks,omitempty"`
	// NICs are virtio-net cards, each on an existing TAP device: eth0, ...
	NICs []NIC `json:"nics,omitempty"`
	// ID names this VM; each NIC's MAC address is derived from it (and the
	// card's index) unless NIC.MAC is set.
	ID string `json:"id,omitempty"`
	// Mergeable offers guest RAM to the kernel's same-page merging
	// (madvise MADV_MERGEABLE): with /sys/kernel/mm/ksm/run on, ksmd may
	// merge its identical pages with other VMs'. Off by default: KSM costs
	// CPU, and merged pages are a side channel between guests.
	Mergeable bool `json:"mergeable,omitempty"`
}

// Disk is one virtio-blk disk: a raw image file (`mke2fs -t ext4 -d DIR
// IMG SIZE` makes one without root or a loop device), read-write unless
// ReadOnly. A read-only disk is offered to the guest as such, and a write
// the guest attempts anyway fails in the guest, never touching the file.
type Disk struct {
	Path     string `json:"path"`
	ReadOnly bool   `json:"read_only,omitempty"`
}

// NIC is one network card: a TAP device on the host that the VMM attaches
// to. The TAP must exist (the lab network creates it); the VMM never
// creates or configures host network devices.
type NIC struct {
	TAP string `json:"tap"`
	// MAC is the guest's address (aa:bb:cc:dd:ee:ff); empty derives a
	// locally administered one from Config.ID.
	MAC string `json:"mac,omitempty"`
	// Netns is the network namespace the TAP lives in, as a file to
	// setns(2) into (the lab network's, network.Lab.Netns); empty: the
	// VMM's own. Only the thread that attaches enters it, for the attach.
	Netns string `json:"netns,omitempty"`
}

// DefaultDevice is the usual KVM device node.
const DefaultDevice = "/dev/kvm"

func (c Config) withDefaults() Config {
	if c.Cmdline == "" {
		c.Cmdline = DefaultCmdline
	}
	if c.CPUs == 0 {
		c.CPUs = 1
	}
	if c.Device == "" {
		c.Device = DefaultDevice
	}
	if c.Start.IsZero() {
		c.Start = time.Now()
	}
	return c
}

// validate checks what can be checked without touching any file or device.
func (c Config) validate() error {
	if c.Kernel == "" {
		return fmt.Errorf("%w: no kernel path given", ErrNoKernel)
	}
	if err := CheckResources(c.MemBytes, c.CPUs, c.Timeout); err != nil {
		return err
	}
	return c.checkDevices()
}

// CheckResources checks a VM's size and time limit, the checks New makes
// before touching anything: a command line calls it on its flags before it
// does any slow work (boots the nested-mode machine, starts a benchmark).
// Unlike a Config, it takes no zero for "the default": --cpus 0 is an error.
func CheckResources(memBytes uint64, cpus int, timeout time.Duration) error {
	if memBytes < MinMem {
		return fmt.Errorf("%w: %d MiB requested, the minimum is %d MiB", ErrMemTooSmall, memBytes>>20, MinMem>>20)
	}
	if memBytes > MaxMem {
		return fmt.Errorf("%w: %d MiB requested, the maximum is %d MiB", ErrMemTooLarge, memBytes>>20, MaxMem>>20)
	}
	if memBytes%pageSize != 0 {
		return fmt.Errorf("guest memory of %d bytes is not a multiple of the %d-byte page", memBytes, pageSize)
	}
	if cpus < 1 || cpus > MaxCPUs {
		return fmt.Errorf("%w: %d (want 1..%d)", ErrBadCPUs, cpus, MaxCPUs)
	}
	if timeout < 0 {
		return fmt.Errorf("%w: negative timeout %v", ErrBadTimeout, timeout)
	}
	return nil
}

// checkDevices checks the virtio devices a config asks for.
func (c Config) checkDevices() error {
	if n := len(c.Disks) + len(c.NICs); n > len(virtioIRQs) {
		return fmt.Errorf("%w: %d disks and NICs, at most %d (one free interrupt line each)", ErrTooManyDevices, n, len(virtioIRQs))
	}
	for i, d := range c.Disks {
		if d.Path == "" {
			return fmt.Errorf("%w: disk %d has no image path", ErrNoDisk, i)
		}
	}
	for i, n := range c.NICs {
		if n.TAP == "" {
			return fmt.Errorf("%w: NIC %d names no TAP device", ErrNoTAP, i)
		}
		if n.MAC != "" {
			if hw, err := net.ParseMAC(n.MAC); err != nil || len(hw) != 6 || hw[0]&1 != 0 {
				return fmt.Errorf("NIC %d: MAC %q is not a unicast Ethernet address", i, n.MAC)
			}
		}
	}
	return nil
}

// virtioCmdline announces n virtio-mmio devices to the guest kernel, one
// virtio_mmio.device=<size>@<addr>:<irq> each, in device order.
func virtioCmdline(n int) string {
	var words []string
	for i := 0; i < n; i++ {
		words = append(words, fmt.Sprintf("virtio_mmio.device=4K@%#x:%d", virtioMMIOBase+uint64(i)*virtioMMIOStride, virtioIRQs[i]))
	}
	return strings.Join(words, " ")
}

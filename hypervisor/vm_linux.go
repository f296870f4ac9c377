//go:build linux && amd64

package hypervisor

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/bobuhiro11/gokvm/kvm"
	"github.com/twinboot/twinboot/guest/report"
	"github.com/twinboot/twinboot/internal/event"
)

// VM is one virtual machine, from New to Close.
type VM struct {
	cfg      Config
	protocol string

	sys   *system
	vmf   *os.File
	mem   *guestMemory
	vcpus []*vcpu
	uart  *uart
	cons  *console
	devs  *devices // virtio devices; nil without any

	phaseMu sync.Mutex
	phases  []event.Phase
	rep     *report.Report

	running  sync.WaitGroup // Run in progress; Close waits for it
	stopMu   sync.Mutex
	stopped  bool
	reason   ExitReason
	status   int
	stopErr  error
	ran      bool
	irqchip  bool
	closed   bool
	closeErr error
}

// machine creates an empty machine: a VM with memSize bytes of RAM, an
// in-kernel interrupt controller and timer, a UART and cpus vCPUs, none of
// them set up to run anything yet. New puts a kernel in it; the tests put
// a few instructions.
func machine(cfg Config, memSize uint64) (vm *VM, err error) {
	vm = &VM{cfg: cfg}
	resetHWM()
	defer func() {
		if err != nil {
			vm.Close()
			vm = nil
		}
	}()
	if vm.sys, err = openSystem(cfg.Device); err != nil {
		return vm, err
	}
	if vm.vmf, err = vm.sys.createVM(); err != nil {
		return vm, err
	}
	vmfd := vm.vmf.Fd()
	// Memory first: adding a memory slot once the in-kernel irqchip exists
	// costs 6-10 ms here (KVM waits for readers of the old slot list to
	// finish), against 0.2 ms before it.
	if vm.mem, err = newGuestMemory(memSize, vm.cfg.Mergeable); err != nil {
		return vm, err
	}
	if err = vm.mem.register(vmfd); err != nil {
		return vm, err
	}
	// Intel needs these two areas to emulate real mode; AMD ignores them.
	if err = kvm.SetTSSAddr(vmfd, tssAddr); err != nil {
		return vm, fmt.Errorf("KVM_SET_TSS_ADDR: %w", err)
	}
	if err = kvm.SetIdentityMapAddr(vmfd, identityMapAddr); err != nil {
		return vm, fmt.Errorf("KVM_SET_IDENTITY_MAP_ADDR: %w", err)
	}
	// The in-kernel irqchip is a PIC pair, an I/O APIC and a local APIC per
	// vCPU, all emulated inside KVM: interrupts and timers never come out
	// to us. It must exist before the vCPUs.
	if err = kvm.CreateIRQChip(vmfd); err != nil {
		return vm, fmt.Errorf("%w: KVM_CREATE_IRQCHIP: %v", ErrKVMAPI, err)
	}
	vm.irqchip = true
	if err = createPIT2(vmfd); err != nil {
		return vm, fmt.Errorf("%w: %v", ErrKVMAPI, err)
	}
	vm.cons = newConsole(cfg.Console, cfg.Events)
	vm.cons.firstByte = func() { vm.phase(PhaseFirstSerial) }
	vm.cons.ready = func(r report.Report) {
		vm.phaseMu.Lock()
		vm.rep = &r
		vm.phaseMu.Unlock()
		vm.phase(PhaseReady)
	}
	vm.uart = newUART(vm.cons.put, func(high bool) error {
		level := uint32(0)
		if high {
			level = 1
		}
		if err := kvm.IRQLineStatus(vmfd, uartIRQ, level); err != nil {
			return fmt.Errorf("KVM_IRQ_LINE %d: %w", uartIRQ, err)
		}
		return nil
	}, func(err error) { vm.stop(ReasonVMMError, 0, err) })

	cpuid, err := supportedCPUID(vm.sys.fd(), cfg.Device)
	if err != nil {
		return vm, err
	}
	runSize, err := vm.sys.vcpuMmapSize()
	if err != nil {
		return vm, err
	}
	for i := 0; i < cfg.CPUs; i++ {
		v, err := newVCPU(vmfd, i, runSize, cpuid)
		if err != nil {
			return vm, err
		}
		vm.vcpus = append(vm.vcpus, v)
	}
	mp, err := mpTable(mptableAdr, cfg.CPUs)
	if err != nil {
		return vm, err
	}
	if err = vm.mem.write(mptableAdr, mp); err != nil {
		return vm, fmt.Errorf("write MP table: %w", err)
	}
	return vm, nil
}

// enter sets up the boot vCPU (vCPU 0) to start at e. The others wait,
// halted in the in-kernel local APIC, until the guest kernel wakes them
// with INIT and SIPI interrupts.
func (vm *VM) enter(e entryState) error {
	if err := writeCPUTables(vm.mem, e.mode); err != nil {
		return err
	}
	if err := setupSregs(vm.vcpus[0].fd(), e.mode); err != nil {
		return err
	}
	return setupRegs(vm.vcpus[0].fd(), e)
}

// phase records that a boot phase ended now.
func (vm *VM) phase(name string) {
	p := event.Phase{Side: event.VM, Name: name, At: time.Since(vm.cfg.Start), Emulated: vm.cfg.Emulated}
	vm.phaseMu.Lock()
	for _, q := range vm.phases {
		if q.Name == name {
			vm.phaseMu.Unlock()
			return // each phase happens once
		}
	}
	vm.phases = append(vm.phases, p)
	vm.phaseMu.Unlock()
	vm.cfg.Events.Emit(p)
}

// stop ends the run: the first caller's reason wins, and every vCPU is
// kicked out of KVM_RUN.
func (vm *VM) stop(reason ExitReason, status int, err error) {
	vm.stopMu.Lock()
	if vm.stopped {
		vm.stopMu.Unlock()
		return
	}
	vm.stopped, vm.reason, vm.status, vm.stopErr = true, reason, status, err
	vm.stopMu.Unlock()
	for _, v := range vm.vcpus {
		v.kick()
	}
}

func (vm *VM) isStopped() bool {
	vm.stopMu.Lock()
	defer vm.stopMu.Unlock()
	return vm.stopped
}

// Close releases everything New created: vCPUs, guest RAM, the VM and the
// device. It is safe to call more than once, and while Run is running (it
// stops the guest and waits for Run to return).
func (vm *VM) Close() error {
	vm.stop(ReasonCanceled, 0, ErrClosed)
	vm.running.Wait()
	vm.stopMu.Lock()
	defer vm.stopMu.Unlock()
	if vm.closed {
		return vm.closeErr
	}
	vm.closed = true
	if vm.uart != nil {
		vm.uart.detach()
	}
	var errs []error
	for _, v := range vm.vcpus {
		errs = append(errs, v.close())
	}
	vm.vcpus = nil
	// Devices before memory: their goroutines write into guest RAM.
	errs = append(errs, vm.devs.close())
	vm.devs = nil
	if vm.mem != nil {
		errs = append(errs, vm.mem.unmap())
	}
	if vm.vmf != nil {
		errs = append(errs, vm.vmf.Close())
	}
	if vm.sys != nil {
		errs = append(errs, vm.sys.close())
	}
	vm.closeErr = errors.Join(errs...)
	return vm.closeErr
}

func phaseAt(cfg Config, name string, at time.Duration) event.Phase {
	return event.Phase{Side: event.VM, Name: name, At: at, Emulated: cfg.Emulated}
}

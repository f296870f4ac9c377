//go:build linux && amd64

package hypervisor

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/internal/host"
)

const kvmRunNr = 0x80

// kvmRun enters the guest and returns when it exits. EINTR means a signal
// (our kick, or the Go runtime's preemption) interrupted it: not an error.
func kvmRun(vcpu uintptr) (interrupted bool, err error) {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, vcpu, kvm.IIO(kvmRunNr), 0)
	switch errno {
	case 0:
		return false, nil
	case unix.EINTR, unix.EAGAIN:
		return true, nil
	}
	return false, fmt.Errorf("KVM_RUN: %w", errno)
}

// Run boots the guest and runs it until it powers off, reboots, crashes,
// the timeout passes or ctx is cancelled. A clean end (poweroff, reboot)
// returns a nil error; every other end returns the Result (with the reason,
// the last console lines and all measurements) and an error wrapping
// ErrTimeout or ErrGuestFailed. Run can be called once.
func (vm *VM) Run(ctx context.Context) (Result, error) {
	vm.stopMu.Lock()
	if vm.closed || vm.ran || vm.stopped {
		vm.stopMu.Unlock()
		return Result{}, ErrClosed
	}
	vm.ran = true
	vm.running.Add(1)
	vm.stopMu.Unlock()
	defer vm.running.Done()

	if vm.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, vm.cfg.Timeout)
		defer cancel()
	}
	if vm.cfg.Input != nil {
		go vm.feedInput()
	}

	counts := make([]*exitCounts, len(vm.vcpus))
	var wg sync.WaitGroup
	for i, v := range vm.vcpus {
		counts[i] = newExitCounts()
		wg.Add(1)
		go func() {
			defer wg.Done()
			vm.loop(v, counts[i])
		}()
	}
	done := make(chan struct{})
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				vm.stop(ReasonTimeout, 0, nil)
			} else {
				vm.stop(ReasonCanceled, 0, ctx.Err())
			}
		case <-done:
		}
	}()
	wg.Wait()
	close(done)
	<-watchDone // no kick may reach a vCPU after this point
	vm.cons.close()
	return vm.result(counts)
}

// loop is one vCPU's life: enter the guest, see why it stopped, deal with
// it, go back in. It runs on its own locked OS thread so that a signal can
// find it inside KVM_RUN.
func (vm *VM) loop(v *vcpu, c *exitCounts) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	v.tid.Store(int32(unix.Gettid()))
	defer v.tid.Store(0)
	if v.id == 0 {
		vm.phase(PhaseFirstRun)
	}
	for !vm.isStopped() {
		interrupted, err := kvmRun(v.fd())
		if err != nil {
			vm.stop(ReasonVMMError, 0, fmt.Errorf("vCPU %d: %w", v.id, err))
			return
		}
		if interrupted {
			c.byReason["intr"]++
			continue
		}
		reason := v.exitReason()
		c.byReason[exitName(reason)]++
		switch reason {
		case exitIO:
			vm.handleIO(v, c)
		case exitMMIO:
			vm.handleMMIO(v)
		case exitIntr, exitIRQWindow:
			// Interrupted before entering the guest; just go round again.
		case exitHLT:
			if !vm.irqchip {
				vm.stop(ReasonHalt, 0, nil)
			}
		case exitShutdown:
			vm.stop(vm.shutdownReason(), 0, nil)
		case exitSystemEvent:
			switch v.systemEvent() {
			case 1: // KVM_SYSTEM_EVENT_SHUTDOWN
				vm.stop(ReasonPoweroff, 0, nil)
			case 2: // KVM_SYSTEM_EVENT_RESET
				vm.stop(ReasonReboot, 0, nil)
			default:
				vm.stop(ReasonPanic, 0, fmt.Errorf("system event %d", v.systemEvent()))
			}
		case exitInternalError:
			vm.stop(ReasonInternalError, 0, fmt.Errorf("vCPU %d: KVM internal error, suberror %d", v.id, v.internalError()))
		case exitFailEntry:
			vm.stop(ReasonFailEntry, 0, fmt.Errorf("vCPU %d: entry failed, hardware reason %#x", v.id, v.failEntry()))
		default:
			vm.stop(ReasonUnexpectedExit, 0, fmt.Errorf("vCPU %d: unhandled exit %s", v.id, exitName(reason)))
		}
	}
}

func (vm *VM) handleIO(v *vcpu, c *exitCounts) {
	out, port, size, count, data, ok := v.io()
	c.byPort[port]++
	if !ok {
		vm.stop(ReasonVMMError, 0, fmt.Errorf("vCPU %d: malformed IO exit (size %d, count %d)", v.id, size, count))
		return
	}
	for i := 0; i < count; i++ {
		item := data[i*size : (i+1)*size]
		if out {
			if vm.portOut(port, item) {
				return
			}
		} else {
			vm.portIn(port, item)
		}
	}
}

// handleMMIO passes an MMIO exit to the virtio device whose window it hit.
// Nothing else is memory-mapped here besides what KVM emulates itself
// (local APIC, I/O APIC); reads of anything else see all ones.
func (vm *VM) handleMMIO(v *vcpu) {
	addr, data, write := v.mmio()
	if t := vm.device(addr); t != nil {
		if write {
			t.write(addr-t.base, data)
		} else {
			t.read(addr-t.base, data)
		}
		return
	}
	if !write {
		for i := range data {
			data[i] = 0xff
		}
	}
}

// shutdownReason tells apart the three things KVM_EXIT_SHUTDOWN (a triple
// fault) can mean, using what the guest said last on its console: a panic
// (with panic=-1 the kernel reboots), an orderly reboot (reboot=t reboots by
// triple fault on purpose), or a crash with no word.
func (vm *VM) shutdownReason() ExitReason {
	vm.cons.flush()
	panicked, rebooting := vm.cons.state()
	switch {
	case panicked:
		return ReasonPanic
	case rebooting:
		return ReasonReboot
	}
	return ReasonTripleFault
}

// feedInput copies Config.Input to the UART's receiver.
func (vm *VM) feedInput() {
	buf := make([]byte, 256)
	for {
		n, err := vm.cfg.Input.Read(buf)
		if n > 0 {
			vm.uart.receive(append([]byte(nil), buf[:n]...))
		}
		if err != nil || vm.isStopped() {
			return
		}
	}
}

func (vm *VM) result(counts []*exitCounts) (Result, error) {
	total := newExitCounts()
	for _, c := range counts {
		total.add(c)
	}
	vm.phaseMu.Lock()
	phases := append(vm.phases[:0:0], vm.phases...)
	rep := vm.rep
	vm.phaseMu.Unlock()
	sort.SliceStable(phases, func(i, j int) bool { return phases[i].At < phases[j].At })
	vm.stopMu.Lock()
	reason, status, stopErr := vm.reason, vm.status, vm.stopErr
	vm.stopMu.Unlock()

	res := Result{
		Reason:      reason,
		Status:      status,
		Protocol:    vm.protocol,
		Phases:      phases,
		Exits:       total.byReason,
		IOPorts:     total.byPort,
		Report:      rep,
		ConsoleTail: vm.cons.tailLines(),
		CPUs:        len(vm.vcpus),
		Devices:     vm.devs.stats(),
	}
	if stopErr != nil {
		res.Detail = stopErr.Error()
	}
	mem, memErr := measureMemory(vm.mem.hostAddr(), vm.mem.size())
	res.Memory = mem
	if memErr != nil {
		res.Detail = strings.TrimPrefix(res.Detail+"; measure memory: "+memErr.Error(), "; ")
	}

	silent := true
	for _, p := range phases {
		if p.Name == PhaseFirstSerial {
			silent = false
		}
	}
	if reason == ReasonPoweroff && rep == nil && vm.cons.partialReady() {
		res.Detail = strings.TrimPrefix(res.Detail+"; "+cutReadyHint, "; ")
	}
	if silent && !reason.Clean() && host.KVM().Flavour == host.FlavourPVM {
		res.Detail = strings.TrimPrefix(res.Detail+"; "+pvmHint, "; ")
	}

	var err error
	switch {
	case reason == ReasonTimeout:
		err = fmt.Errorf("%w after %v", ErrTimeout, vm.cfg.Timeout)
		if res.Detail != "" {
			err = fmt.Errorf("%w after %v: %s", ErrTimeout, vm.cfg.Timeout, res.Detail)
		}
	case !reason.Clean():
		err = fmt.Errorf("%w: %s", ErrGuestFailed, reason)
		if stopErr != nil {
			err = fmt.Errorf("%w: %s: %w", ErrGuestFailed, reason, stopErr)
		}
	case memErr != nil:
		err = fmt.Errorf("measure memory: %w", memErr)
	}
	return res, err
}

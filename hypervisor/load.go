//go:build linux && amd64

package hypervisor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

var elfMagic = []byte("\x7fELF")

// kernelImage is a parsed kernel, either kind. The file stays open until
// it is loaded: its contents go straight from the file into guest memory,
// never through a buffer of ours, which would count as VMM overhead (a
// vmlinux is 17 MB).
type kernelImage struct {
	file *os.File
	bz   *bzImage   // set for a bzImage
	pvh  *pvhKernel // set for an ELF vmlinux
}

func (k *kernelImage) protocol() string {
	if k.pvh != nil {
		return "pvh"
	}
	return "bzImage"
}

// end is the first guest-physical byte above everything the kernel needs.
func (k *kernelImage) end() uint64 {
	if k.pvh != nil {
		return k.pvh.end()
	}
	return k.bz.kernelEnd()
}

// readKernel reads and parses the kernel file. The contents decide the
// protocol: an ELF header means PVH, anything else must be a bzImage.
func readKernel(path string) (*kernelImage, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoKernel, path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoKernel, err)
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%w: %s is not a regular file", ErrNoKernel, path)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	head := make([]byte, pageSize)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, fmt.Errorf("read kernel %s: %w", path, err)
	}
	head = head[:n]
	k := &kernelImage{file: f}
	if bytes.HasPrefix(head, elfMagic) {
		k.pvh, err = parsePVH(f, st.Size())
	} else {
		k.bz, err = parseBzImage(head, uint64(st.Size()))
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("kernel %s: %w", path, err)
	}
	return k, nil
}

// CheckKernel reads enough of the kernel file at path to say whether this
// hypervisor can boot it (a bzImage, or an ELF vmlinux with a PVH note),
// and checks that the initramfs (if any) is a regular file. Commands call
// it before nested mode copies the files into L1 and boots there, so that
// a file that is not a kernel is named for what it is at once.
func CheckKernel(kernel, initrd string) error {
	if kernel != "" {
		k, err := readKernel(kernel)
		if err != nil {
			return err
		}
		k.close()
	}
	if initrd != "" {
		st, err := os.Stat(initrd)
		switch {
		case err != nil:
			return fmt.Errorf("%w: %v", ErrNoInitrd, err)
		case !st.Mode().IsRegular():
			return fmt.Errorf("%w: %s is not a regular file", ErrNoInitrd, initrd)
		}
	}
	return nil
}

// readInto fills guest-physical [addr, addr+n) from the file at off.
func (k *kernelImage) readInto(m *guestMemory, addr, off, n uint64) error {
	dst, err := m.at(addr, n)
	if err != nil {
		return err
	}
	if _, err := k.file.ReadAt(dst, int64(off)); err != nil {
		return fmt.Errorf("read %s: %w", k.file.Name(), err)
	}
	return nil
}

func (k *kernelImage) close() {
	if k != nil && k.file != nil {
		k.file.Close()
	}
}

// bootPlan is where everything goes, decided before any device is opened so
// that bad inputs fail without creating anything.
type bootPlan struct {
	kernel     *kernelImage
	initrd     string
	initrdSize uint64
	initrdAddr uint64
	cmdline    []byte // NUL-terminated
}

// plan reads the inputs and checks that they fit in cfg.MemBytes.
func plan(cfg Config) (_ *bootPlan, err error) {
	k, err := readKernel(cfg.Kernel)
	if err != nil {
		return nil, err
	}
	cmdline := cfg.Cmdline
	if n := len(cfg.Disks) + len(cfg.NICs); n > 0 {
		// The devices first, so that a "--" in the user's part cannot turn
		// them into arguments for init.
		cmdline = virtioCmdline(n) + " " + cmdline
	}
	p := &bootPlan{kernel: k, initrd: cfg.Initrd, cmdline: append([]byte(cmdline), 0)}
	defer func() {
		if err != nil {
			k.close()
		}
	}()
	if len(p.cmdline) > cmdlineMax {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrCmdlineTooLong, len(cmdline), cmdlineMax-1)
	}
	if k.bz != nil && uint32(len(cmdline)) > k.bz.CmdlineSize {
		return nil, fmt.Errorf("%w: %d bytes, this kernel takes at most %d", ErrCmdlineTooLong, len(cmdline), k.bz.CmdlineSize)
	}
	kend := k.end()
	if kend > cfg.MemBytes {
		return nil, fmt.Errorf("%w: the kernel needs memory up to %d MiB to boot, the VM has %d MiB",
			ErrMemTooSmall, (kend+(1<<20)-1)>>20, cfg.MemBytes>>20)
	}
	if cfg.Initrd == "" {
		return p, nil
	}
	st, err := os.Stat(cfg.Initrd)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoInitrd, cfg.Initrd)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoInitrd, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrNoInitrd, cfg.Initrd)
	}
	p.initrdSize = uint64(st.Size())
	// The initrd goes as high as allowed, so the kernel can use everything
	// below it without moving it: the top of RAM, or for a bzImage the top
	// its header allows (initrd_addr_max is the last byte it may occupy).
	top := cfg.MemBytes
	if k.bz != nil && uint64(k.bz.InitrdAddrMax)+1 < top {
		top = uint64(k.bz.InitrdAddrMax) + 1
	}
	if p.initrdSize > top || (top-p.initrdSize)&^(pageSize-1) < kend {
		return nil, fmt.Errorf("%w: initrd %s is %d MiB; between the kernel's end (%d MiB) and the top (%d MiB) there are %d MiB (raise --mem)",
			ErrInitrdTooLarge, cfg.Initrd, (p.initrdSize+(1<<20)-1)>>20, kend>>20, top>>20, (top-min(top, kend))>>20)
	}
	p.initrdAddr = (top - p.initrdSize) &^ (pageSize - 1)
	return p, nil
}

// load writes the kernel, initrd, command line and boot structures into
// guest memory and returns the boot vCPU's entry state.
func (p *bootPlan) load(m *guestMemory) (entryState, error) {
	if err := m.write(cmdlineAddr, p.cmdline); err != nil {
		return entryState{}, fmt.Errorf("write command line: %w", err)
	}
	if p.initrdSize > 0 {
		dst, err := m.at(p.initrdAddr, p.initrdSize)
		if err != nil {
			return entryState{}, err
		}
		f, err := os.Open(p.initrd)
		if err != nil {
			return entryState{}, fmt.Errorf("%w: %v", ErrNoInitrd, err)
		}
		_, err = f.ReadAt(dst, 0)
		f.Close()
		if err != nil {
			return entryState{}, fmt.Errorf("read initrd %s: %w", p.initrd, err)
		}
	}
	k := p.kernel
	if k.pvh != nil {
		return p.loadPVH(m)
	}
	// The protected-mode part of the bzImage goes to 1 MiB; the real-mode
	// setup code before it is never run, only its header is used.
	if err := k.readInto(m, bzImageLoadAddr, k.bz.PayloadOffset, k.bz.PayloadSize); err != nil {
		return entryState{}, fmt.Errorf("load bzImage: %w", err)
	}
	zp, err := zeroPage(k.bz, len(p.cmdline)-1, p.initrdAddr, p.initrdSize, m.size())
	if err != nil {
		return entryState{}, err
	}
	if err := m.write(zeroPageAddr, zp); err != nil {
		return entryState{}, fmt.Errorf("write boot_params: %w", err)
	}
	return entryState{mode: modeLong, rip: bzImageLoadAddr + entry64Offset, rsi: zeroPageAddr}, nil
}

// loadPVH copies the ELF segments to their physical addresses and writes
// hvm_start_info.
func (p *bootPlan) loadPVH(m *guestMemory) (entryState, error) {
	k := p.kernel
	for _, s := range k.pvh.Segments {
		if _, err := m.at(s.PAddr, s.MemSize); err != nil {
			return entryState{}, fmt.Errorf("load ELF segment: %w", err)
		}
		// The bss (MemSize beyond FileSize) is already zero: fresh anonymous
		// memory reads as zeros, and leaving it alone keeps it untouched.
		if err := k.readInto(m, s.PAddr, s.Offset, s.FileSize); err != nil {
			return entryState{}, fmt.Errorf("load ELF segment: %w", err)
		}
	}
	start, mods, memmap := pvhStartInfo(m.size(), p.initrdAddr, p.initrdSize)
	for _, w := range []struct {
		addr uint64
		b    []byte
	}{{pvhStartAddr, start}, {pvhModAddr, mods}, {pvhMemmapAddr, memmap}} {
		if err := m.write(w.addr, w.b); err != nil {
			return entryState{}, fmt.Errorf("write PVH start info: %w", err)
		}
	}
	return entryState{mode: modeProtected, rip: uint64(k.pvh.Entry), rbx: pvhStartAddr}, nil
}

// New checks cfg, reads the kernel and initrd, creates the VM and loads the
// guest into it, ready to Run. Every input error is reported before
// /dev/kvm is opened; on any error nothing is left behind.
func New(cfg Config) (*VM, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p, err := plan(cfg)
	if err != nil {
		return nil, err
	}
	defer p.kernel.close()
	b, err := openBackends(cfg)
	if err != nil {
		return nil, err
	}
	vm, err := machine(cfg, cfg.MemBytes)
	if err != nil {
		b.close()
		return nil, err
	}
	if err := vm.attachDevices(b); err != nil {
		vm.Close() // closes b too
		return nil, err
	}
	vm.phases = append(vm.phases, phaseAt(cfg, PhaseProcessStart, 0))
	cfg.Events.Emit(vm.phases[0])
	vm.protocol = p.kernel.protocol()
	vm.phase(PhaseVMReady)
	e, err := p.load(vm.mem)
	if err == nil {
		err = vm.enter(e)
	}
	if err != nil {
		vm.Close()
		return nil, err
	}
	vm.phase(PhaseKernelLoaded)
	return vm, nil
}

package guest

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/twinboot/twinboot/guest/report"
)

// ErrBadProbe means the file given as the probe cannot be the probe: it
// would become /init of the VM and the container's first process, and a
// guest built on it could only fail later, far from the cause.
var ErrBadProbe = errors.New("not a usable probe")

// CheckProbe makes sure path is the probe: a static x86-64 ELF executable
// (it runs as PID 1 of a kernel with no libraries around it) that, run here,
// prints its READY line. It is run as `probe --mode exit --syscalls 1`,
// which only reads /proc and exits.
func CheckProbe(ctx context.Context, path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %s is not an ELF executable: %v", ErrBadProbe, path, err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("%w: %s is %v %v, not an x86-64 program", ErrBadProbe, path, f.Class, f.Machine)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("%w: %s is an ELF %v, not an executable", ErrBadProbe, path, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%w: %s is dynamically linked; build it static (CGO_ENABLED=0 go build ./guest/probe)", ErrBadProbe, path)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "--mode", "exit", "--syscalls", "1")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s --mode exit: %v: %s", ErrBadProbe, path, err, strings.TrimSpace(errOut.String()))
	}
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if _, err := report.Parse(sc.Text()); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%w: %s ran but printed no %s line", ErrBadProbe, path, strings.TrimSpace(report.Prefix))
}

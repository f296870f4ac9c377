package reexec

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
)

// Env names the helper a process was started as.
const Env = "TWINBOOT_REEXEC"

// Register runs main and exits if this process was started as the helper
// name; otherwise it returns at once. Call it from an init function.
func Register(name string, main func() int) {
	if os.Getenv(Env) == name {
		os.Exit(main())
	}
}

// Self returns a command that runs this executable as the helper name.
func Self(name string, args ...string) *exec.Cmd {
	cmd := exec.Command("/proc/self/exe", args...)
	cmd.Env = append(os.Environ(), Env+"="+name)
	return cmd
}

// Beside returns the path of the program name in the running executable's
// directory, or "" when there is none there.
func Beside(name string) string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	p := filepath.Join(filepath.Dir(exe), name)
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
		return p
	}
	return ""
}

// StartPinned starts cmd so that it is killed (SIGKILL) when this process
// dies, even by SIGKILL, and calls exited with Wait's result once it has
// ended. It sets Pdeathsig (and keeps any other SysProcAttr fields).
//
// Pdeathsig fires when the *thread* that forked the child ends, not the
// process, and Go may end a thread when a goroutine that locked it exits.
// So the child is started from a goroutine locked to its thread, which
// waits there until the child is gone: only this process's death can then
// deliver the signal.
func StartPinned(cmd *exec.Cmd, exited func(error)) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread is discarded when this goroutine
		// ends, which is after the child is gone.
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		exited(cmd.Wait())
	}()
	return <-started
}

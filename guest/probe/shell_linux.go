package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// shellPath is busybox's sh in the rootfs (see guest/rootfs.go).
const shellPath = "/bin/sh"

// shell serves the lab's interactive shell on the console and returns its
// exit status.
//
// Outside PID 1 the probe simply becomes the shell (exec), and never
// returns. As PID 1 it must not exec: when PID 1 ends, the kernel panics. It
// runs the shell as a child in a new session with the serial port as its
// controlling terminal, so Ctrl-C and job control work, and returns when the
// shell exits so the caller can power the VM off. busybox's halt, poweroff
// and reboot signal PID 1 (SIGUSR1, SIGUSR2, SIGTERM); those also end it.
func shell(pid1 bool) int {
	env := os.Environ()
	if os.Getenv("PATH") == "" {
		env = append(env, "PATH=/bin:/sbin:/usr/bin:/usr/sbin")
	}
	if os.Getenv("HOME") == "" {
		env = append(env, "HOME=/")
	}
	if !pid1 {
		err := syscall.Exec(shellPath, []string{"sh"}, env)
		fmt.Fprintf(os.Stderr, "probe: exec %s: %v\n", shellPath, err)
		return 127
	}

	cmd := exec.Command(shellPath)
	cmd.Env = append(env, "TERM=linux")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if tty, err := os.OpenFile("/dev/ttyS0", os.O_RDWR, 0); err == nil {
		defer tty.Close()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		cmd.SysProcAttr.Setctty = true
		cmd.SysProcAttr.Ctty = 0
	} else if isTerminal(os.Stdin) {
		// A container handed a terminal (nested mode's pty in L1): the
		// shell's new session takes it as its controlling terminal, so
		// that Ctrl-C reaches the shell's foreground job, not the runtime
		// above it. That works only when the terminal belongs to no
		// session yet; otherwise the shell runs without job control.
		cmd.SysProcAttr.Setctty = true
		cmd.SysProcAttr.Ctty = 0
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM)
	defer signal.Stop(sigs)

	err := cmd.Start()
	if err != nil && cmd.SysProcAttr.Setctty && cmd.Stdin == os.Stdin {
		// The terminal is another session's: run the shell on it anyway,
		// without job control. An exec.Cmd starts once, so build anew.
		retry := exec.Command(shellPath)
		retry.Env, retry.Stdin, retry.Stdout, retry.Stderr = cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr
		retry.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		cmd = retry
		err = cmd.Start()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "probe: start %s: %v\n", shellPath, err)
		return 127
	}
	done := make(chan int, 1)
	go func() {
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			done <- ee.ExitCode()
			return
		}
		if err != nil {
			done <- 127
			return
		}
		done <- 0
	}()
	select {
	case status := <-done:
		return status
	case sig := <-sigs:
		fmt.Fprintf(os.Stderr, "probe: %v: powering off\n", sig)
		return 0
	}
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
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
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM)
	defer signal.Stop(sigs)

	if err := cmd.Start(); err != nil {
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

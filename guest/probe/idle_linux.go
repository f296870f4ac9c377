package main

import (
	"os"
	"os/signal"
	"syscall"
)

// idle waits, using no CPU, until SIGTERM or SIGINT: the probe's idle mode,
// an instance that is up and doing nothing. As a container's PID 1 the
// probe only gets the signals it handles, which these are; in a VM nobody
// sends them, and the VM is stopped from outside.
func idle() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
}

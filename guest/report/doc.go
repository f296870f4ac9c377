// Package report is the probe's contract with the host, in both directions:
// how the host tells the probe what to do (contract.go: its modes, the
// twinboot.mode= and twinboot.syscalls= words of a VM's kernel command
// line, a container's arguments), and the one line the probe prints back,
// TWINBOOT-READY {json}, with how the host parses it (report.go). The same
// type describes the world as seen from inside a VM and from inside a
// container, which is what makes the two comparable field by field.
package report

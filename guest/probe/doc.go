// Command probe is the workload twinboot boots twice: as PID 1 of a VM and as
// the first process of a container. It looks at the world from inside, prints
// exactly one line, "TWINBOOT-READY {json}" (see guest/report), and then
// exits, powers the VM off, or serves a shell.
//
// It is a static Go program (CGO_ENABLED=0), so the same binary runs from the
// VM's initramfs and from the container's root directory.
package main

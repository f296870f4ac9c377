// Command twinboot boots one small workload twice, as a virtual machine under
// its own KVM hypervisor and as a container under its own namespace runtime,
// and shows the two side by side.
//
// This package is the command line and nothing else: one file per command,
// each declaring its flags and calling one package function, and this file,
// which lists the commands and turns errors into exit statuses. The work is
// done by the packages (see docs/architecture.md).
package main

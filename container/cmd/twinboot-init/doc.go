// Command twinboot-init is the container init as a small binary of its own.
//
// twinboot can start a container's init by re-executing itself, but then
// every container pays for starting the whole twinboot program (its TUI,
// charts and all their package initialisers) before the init does anything.
// This binary links only the init, so it starts in a fraction of the time.
// Run uses it when it sits beside the running executable (make bin puts it
// in build/bin next to twinboot), or when Spec.Init or $TWINBOOT_CT_INIT
// names it; otherwise it falls back to re-executing itself.
package main

// Package reexec is how twinboot turns a copy of itself into one of its
// helper processes (L1's init, a container's init, a VMM), and how it starts
// helpers that must die with it.
//
// A helper is chosen by the TWINBOOT_REEXEC environment variable. Each
// package that has one registers it from its own init function; the helper
// then takes over while packages are still being initialised, before main
// or a test binary's TestMain runs, and before the packages initialised
// later pay for anything. Small static binaries (twinboot-init,
// twinboot-vmm) run the same helper functions directly and are preferred
// when they sit beside the running executable: they start faster.
package reexec

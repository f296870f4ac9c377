// Package event defines the typed events that the engine (hypervisor,
// container, compare) emits while it works. The same stream feeds the TUI,
// the --json output and the nested-mode transport, so every event can be
// written as one JSON line and read back as the same Go value.
//
// Packages that own richer events (compare's results, for instance) register
// them with Register so that Decode can rebuild them on the far side of the
// nested-mode serial line.
package event

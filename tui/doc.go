// Package tui is twinboot's lab: a terminal screen that shows the same
// workload booting as a virtual machine (left) and as a container (right),
// live, with a comparison strip and guided lessons.
//
// The lab holds no logic of its own. Everything it shows arrives as events
// from a lab.Engine (package lab, which runs package compare natively or in
// nested mode's L1): phases, console bytes, finished
// measurements. The model folds those events into state, and View renders
// that state without doing any I/O, so a recorded event stream reproduces a
// screen exactly (that is how the tests work).
package tui

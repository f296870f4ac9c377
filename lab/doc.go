// Package lab is the lab's engine without a screen: what runs when a
// student presses r (run), b (bench), s (shell) or e (export), and what
// `twinboot run` and `twinboot bench` run, here or in nested mode's L1.
// Package tui renders its events and knows nothing of how they are made.
//
// Reading the files in this order tells the story:
//
//  1. engine.go      the Engine and Shell interfaces the screen drives.
//  2. native.go      the engine on this host: package compare for runs and
//     benchmarks, the probe's shell mode on each side (a VM in its own VMM
//     process with the terminal on its serial port; a container on the
//     terminal itself).
//  3. experiment.go  one run or benchmark for the CLI: here, or the same
//     command of the twinboot inside L1, whose results come back as
//     events over nested mode's transport and are labelled emulated.
//  4. nested.go      the engine in nested mode: one L1 (package nested) for
//     the whole session, runs and benchmarks as in experiment.go, shells
//     whose keys travel into L1.
//  5. replay.go      an engine that plays a recorded event stream, and a
//     recorder that writes one.
//  6. export.go      results.json, results.csv and the charts, the same for
//     every engine.
package lab

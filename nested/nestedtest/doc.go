// Package nestedtest runs twinboot commands, or whole test binaries, inside
// the nested-mode L1 machine from a Go test, so that VM tests prove on hosts
// without hardware KVM that the hypervisor boots Linux.
//
// Typical use in a VM test:
//
//	func TestBootsToUserSpace(t *testing.T) {
//		if nestedtest.Redirect(t) {
//			return // ran (and passed or failed) inside L1
//		}
//		... the real test, with a hardware-style /dev/kvm ...
//	}
//
// or, for a command:
//
//	res := nestedtest.Run(t, "vm", "--json")
//	// res.Code, res.Events, res.Stdout, res.Stderr
//
// or, to share one L1 boot between several jobs:
//
//	s := nestedtest.Boot(t, nestedtest.Options(t))
//	res := s.Run(t, "vm")
//	res = s.Exec(t, nested.Job{Path: "/bin/sh", Args: []string{"-c", "ls /dev/kvm"}})
package nestedtest

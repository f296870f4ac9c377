package main

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestLabShellInTmux opens both shells from the lab, as a student would:
// s in the VM, type, Ctrl-] back to the lab; tab, s in the container, type,
// exit back to the lab; then q, and nothing is left running. On hosts
// without hardware KVM (ours, CI) the keys travel into the nested-mode lab
// machine.
func TestLabShellInTmux(t *testing.T) {
	l, _ := startLiveLab(t)

	// tmux's capture drops the prompt's trailing space: "/ #".
	l.keys("s")
	s := l.waitFor("the VM's shell prompt", 5*time.Minute, func(s string) bool {
		return strings.Contains(s, "shell in the virtual machine") && strings.Contains(s, "/ #")
	})
	if !strings.Contains(s, "Ctrl-]") {
		t.Errorf("the escape key is not on screen:\n%s", s)
	}
	l.keys("echo vm-$((6*7)) $(uname -r)", "Enter")
	s = l.waitFor("the VM's answer", 2*time.Minute, func(s string) bool { return strings.Contains(s, "vm-42 ") })
	// The lab kernel's release ends in -twinboot; L1's Debian one does not.
	if !regexp.MustCompile(`vm-42 \S+-twinboot`).MatchString(s) {
		t.Errorf("the VM's shell did not run the lab kernel:\n%s", s)
	}
	l.keys("C-]")
	l.waitFor("the lab after Ctrl-]", 2*time.Minute, func(s string) bool {
		return strings.Contains(s, "shell in the virtual machine closed")
	})

	l.keys("Tab")
	l.keys("s")
	l.waitFor("the container's shell prompt", 5*time.Minute, func(s string) bool {
		return strings.Contains(s, "shell in the container") && strings.Contains(s, "/ #")
	})
	l.keys("echo ct-$((6*7))-$(hostname)", "Enter")
	l.waitFor("the container's answer", 2*time.Minute, func(s string) bool { return strings.Contains(s, "ct-42-twinboot") })
	l.keys("exit", "Enter")
	l.waitFor("the lab after exit", 2*time.Minute, func(s string) bool {
		return strings.Contains(s, "shell in the container closed")
	})

	if code := l.quit(3 * time.Minute); code != 0 {
		t.Errorf("lab exit status %d:\n%s", code, l.screen())
	}
	if left := leftovers(t); len(left) > 0 {
		t.Errorf("processes left after the lab quit: %v", left)
	}
}

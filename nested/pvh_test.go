package nested

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/twinboot/twinboot/hypervisor/elfnote"
	"github.com/twinboot/twinboot/internal/testutil"
)

func TestBzPayloadRejects(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":     nil,
		"no HdrS":   make([]byte, 4096),
		"truncated": append(append(make([]byte, 0x202), "HdrS\x0d\x02"...), make([]byte, 0x100)...),
	} {
		if _, err := bzPayload(b); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

// TestExtractVmlinux takes the ELF out of the lab's own bzImage, which is
// built with PVH, and checks it carries the PVH entry note.
func TestExtractVmlinux(t *testing.T) {
	g := testutil.Guest(t)
	dst := filepath.Join(t.TempDir(), "vmlinux")
	if err := extractVmlinux(context.Background(), g.BzImage, dst); err != nil {
		t.Fatalf("extract from %s: %v", g.BzImage, err)
	}
	if err := elfnote.CheckPVH(dst); err != nil {
		t.Fatal(err)
	}
	if err := elfnote.CheckPVH(g.Config); err == nil {
		t.Error("CheckPVH accepted a text file")
	}
}

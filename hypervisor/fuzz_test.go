package hypervisor

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The parsers read files a user points us at; whatever the bytes, they must
// return an error, never panic, and a result they accept must be usable.
// Seeds: the crafted kernels here and the corpus in testdata/fuzz/.
// Run with: go test -run '^$' -fuzz FuzzParseBzImage -fuzztime 60s ./hypervisor

func FuzzParseBzImage(f *testing.F) {
	f.Add(validBzImage())
	f.Add(craftBzImage(bzOpts{}))
	f.Add(validBzImage()[:0x300])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := parseBzImage(b, uint64(len(b)))
		if err != nil {
			return
		}
		if k.PayloadOffset >= uint64(len(b)) || k.PayloadOffset+k.PayloadSize != uint64(len(b)) {
			t.Fatalf("payload %d+%d outside a %d-byte file", k.PayloadOffset, k.PayloadSize, len(b))
		}
		if len(k.Header) > maxZeroPageHdr-hdrSetupSects {
			t.Fatalf("header of %d bytes", len(k.Header))
		}
		if _, err := zeroPage(k, 10, 0x2000000, 100, 64<<20); err != nil && k.CmdlineSize >= 10 {
			t.Fatalf("zero page: %v", err)
		}
		_ = k.kernelEnd()
	})
}

func FuzzParsePVH(f *testing.F) {
	f.Add(craftPVH(elfOpts{}))
	f.Add(craftPVH(elfOpts{noNote: true}))
	f.Add(craftPVH(elfOpts{class32: true}))
	f.Add([]byte("\x7fELF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := parsePVH(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for _, s := range k.Segments {
			if s.Offset+s.FileSize > uint64(len(b)) || s.FileSize > s.MemSize {
				t.Fatalf("segment %+v outside a %d-byte file", s, len(b))
			}
			_ = b[s.Offset : s.Offset+s.FileSize]
		}
		_ = k.end()
	})
}

// TestWriteFuzzSeeds regenerates testdata/fuzz/ from the crafted kernels
// when TWINBOOT_WRITE_SEEDS=1; otherwise it checks the seeds are there.
func TestWriteFuzzSeeds(t *testing.T) {
	seeds := map[string]map[string][]byte{
		"FuzzParseBzImage": {
			"crafted-64bit":     validBzImage(),
			"crafted-32bit":     craftBzImage(bzOpts{}),
			"crafted-old":       craftBzImage(bzOpts{version: 0x0204, xloadflags: xlfKernel64}),
			"crafted-truncated": validBzImage()[:0x500],
		},
		"FuzzParsePVH": {
			"crafted-pvh":     craftPVH(elfOpts{}),
			"crafted-no-note": craftPVH(elfOpts{noNote: true}),
			"crafted-elf32":   craftPVH(elfOpts{class32: true}),
		},
	}
	for fuzz, files := range seeds {
		for name, b := range files {
			p := filepath.Join("testdata", "fuzz", fuzz, name)
			want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			if os.Getenv("TWINBOOT_WRITE_SEEDS") == "1" {
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatalf("seed missing (TWINBOOT_WRITE_SEEDS=1 go test -run WriteFuzzSeeds ./hypervisor): %v", err)
			}
			if string(got) != want {
				t.Errorf("seed %s is stale (TWINBOOT_WRITE_SEEDS=1 go test -run WriteFuzzSeeds ./hypervisor)", p)
			}
		}
	}
}

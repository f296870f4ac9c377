package elfnote

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

const (
	xenNoteName        = "Xen"
	xenNotePhys32Entry = 18
	maxNoteBytes       = 1 << 20 // notes are a few hundred bytes; refuse to read more
)

// ErrNoPVH means an ELF file has no PVH entry note.
var ErrNoPVH = errors.New("ELF file has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY; build with CONFIG_PVH=y)")

// FindPVHEntry walks the notes of one PT_NOTE segment of n bytes. Each note
// is a 12-byte header (name size, descriptor size, type), the name and the
// descriptor, each padded to 4 bytes.
func FindPVHEntry(r io.Reader, n uint64) (entry uint32, found bool, err error) {
	if n > maxNoteBytes {
		return 0, false, fmt.Errorf("ELF note segment of %d bytes", n)
	}
	buf, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, false, fmt.Errorf("read ELF notes: %w", err)
	}
	le := binary.LittleEndian
	for len(buf) >= 12 {
		nameSz, descSz, typ := uint64(le.Uint32(buf)), uint64(le.Uint32(buf[4:])), le.Uint32(buf[8:])
		buf = buf[12:]
		nameEnd, descEnd := align4(nameSz), align4(nameSz)+align4(descSz)
		if descEnd > uint64(len(buf)) {
			return 0, false, errors.New("truncated ELF note")
		}
		name := bytes.TrimRight(buf[:nameSz], "\x00")
		desc := buf[nameEnd : nameEnd+descSz]
		if string(name) == xenNoteName && typ == xenNotePhys32Entry {
			if len(desc) < 4 {
				return 0, false, fmt.Errorf("PVH entry note of %d bytes", len(desc))
			}
			return le.Uint32(desc), true, nil
		}
		buf = buf[descEnd:]
	}
	return 0, false, nil
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

// CheckPVH says whether the file at path is an ELF file with a PVH entry
// note: nil, or an error saying why not (ErrNoPVH when it has none).
func CheckPVH(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	ef, err := elf.NewFile(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, p := range ef.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		_, found, err := FindPVHEntry(p.Open(), p.Filesz)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if found {
			return nil
		}
	}
	return fmt.Errorf("%s: %w", path, ErrNoPVH)
}

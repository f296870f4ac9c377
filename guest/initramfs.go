package guest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"

	"github.com/u-root/u-root/pkg/cpio"
)

// WriteInitramfs writes es as a gzip-compressed newc cpio archive, the
// format the kernel unpacks into its initial root file system.
//
// The archive is reproducible (see Archive), and the gzip header carries
// no name or time. The same inputs give the same bytes, so the archive's hash is stable.
func WriteInitramfs(w io.Writer, es []Entry) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	a := NewArchive(zw)
	for _, e := range es {
		if err := add(a, e); err != nil {
			return fmt.Errorf("initramfs /%s: %w", e.Path, err)
		}
	}
	if err := a.Close(); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return nil
}

// add writes one entry. File contents are read whole: the two files of the
// tree are a few MB.
func add(a *Archive, e Entry) error {
	perm := uint32(e.Mode.Perm())
	if e.Mode&0o1000 != 0 {
		perm |= 0o1000
	}
	switch e.Kind {
	case KindDir:
		a.record(cpio.Directory(e.Path, uint64(perm)))
	case KindFile:
		content := e.Content
		if e.Source != "" {
			b, err := os.ReadFile(e.Source)
			if err != nil {
				return err
			}
			content = b
		}
		a.Bytes(e.Path, perm, content)
	case KindSymlink:
		a.Symlink(e.Path, e.Target)
	case KindCharDev:
		a.CharDev(e.Path, perm, uint32(e.Major), uint32(e.Minor))
	default:
		return fmt.Errorf("unknown entry kind %d", e.Kind)
	}
	return a.Err()
}

// WriteInitramfsFile writes the archive to path through a temporary file.
func WriteInitramfsFile(path string, es []Entry) error {
	var buf bytes.Buffer
	if err := WriteInitramfs(&buf, es); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("initramfs: %w", err)
	}
	return nil
}

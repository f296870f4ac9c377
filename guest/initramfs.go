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
// The archive is reproducible: every mtime is 0, owners are root, inode
// numbers follow the entry order, and the gzip header carries no name or
// time. The same inputs give the same bytes, so the archive's hash is stable.
func WriteInitramfs(w io.Writer, es []Entry) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	cw := cpio.Newc.Writer(zw)
	for i, e := range es {
		rec, err := record(e)
		if err != nil {
			return fmt.Errorf("initramfs /%s: %w", e.Path, err)
		}
		// Each entry its own inode, one link: the kernel treats entries
		// sharing an inode number and with nlink > 1 as hard links.
		rec.Ino = uint64(i + 1)
		rec.NLink = 1
		rec.MTime = 0
		rec.UID, rec.GID = 0, 0
		if err := cw.WriteRecord(rec); err != nil {
			return fmt.Errorf("initramfs /%s: %w", e.Path, err)
		}
	}
	if err := cpio.WriteTrailer(cw); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return nil
}

// record converts one entry to a cpio record. File contents are read whole:
// the two files of the tree are a few MB.
func record(e Entry) (cpio.Record, error) {
	perm := uint64(e.Mode.Perm())
	if e.Mode&0o1000 != 0 {
		perm |= 0o1000
	}
	switch e.Kind {
	case KindDir:
		return cpio.Directory(e.Path, perm), nil
	case KindFile:
		content := e.Content
		if e.Source != "" {
			b, err := os.ReadFile(e.Source)
			if err != nil {
				return cpio.Record{}, err
			}
			content = b
		}
		return cpio.StaticRecord(content, cpio.Info{
			Mode:     cpio.S_IFREG | perm,
			Name:     e.Path,
			FileSize: uint64(len(content)),
		}), nil
	case KindSymlink:
		return cpio.Symlink(e.Path, e.Target), nil
	case KindCharDev:
		return cpio.CharDev(e.Path, perm, uint64(e.Major), uint64(e.Minor)), nil
	}
	return cpio.Record{}, fmt.Errorf("unknown entry kind %d", e.Kind)
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

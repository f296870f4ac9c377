package guest

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/u-root/u-root/pkg/cpio"
	"golang.org/x/sys/unix"
)

// Archive writes a "newc" cpio archive, the format the kernel unpacks into
// its initial root file system, one entry at a time with u-root's writer.
// It is twinboot's one cpio writer: the guest's initramfs (WriteInitramfs)
// and the nested-mode lab machine's, which is too large to hold in memory
// (file contents are streamed from their files).
//
// Entries are reproducible: inode numbers follow the entry order, one link
// each (the kernel takes entries that share an inode number and have more
// than one link for hard links), owner root, mtime 0. Character devices
// keep their numbers: without /dev/console the kernel starts init with no
// stdin, stdout or stderr. The kernel accepts several archives one after
// another, so an archive may extend another.
//
// The first error sticks: later calls do nothing, and Close returns it.
type Archive struct {
	bw  *bufio.Writer
	w   cpio.RecordWriter
	ino uint64
	err error
}

// NewArchive starts an archive on w.
func NewArchive(w io.Writer) *Archive {
	bw := bufio.NewWriterSize(w, 1<<20)
	return &Archive{bw: bw, w: cpio.Newc.Writer(bw)}
}

// Err is the first error, if any.
func (a *Archive) Err() error { return a.err }

// Fail records err as the archive's error, unless it has one already.
func (a *Archive) Fail(err error) {
	if a.err == nil {
		a.err = err
	}
}

func (a *Archive) record(r cpio.Record) {
	if a.err != nil {
		return
	}
	a.ino++
	r.Name = strings.TrimPrefix(path.Clean("/"+r.Name), "/")
	if r.Name == "" {
		r.Name = "."
	}
	r.Ino, r.NLink, r.MTime, r.UID, r.GID = a.ino, 1, 0, 0, 0
	if err := a.w.WriteRecord(r); err != nil {
		a.err = fmt.Errorf("cpio /%s: %w", r.Name, err)
	}
}

// Dir adds a directory, mode 0755.
func (a *Archive) Dir(name string) { a.record(cpio.Directory(name, 0o755)) }

// Bytes adds a regular file holding data.
func (a *Archive) Bytes(name string, perm uint32, data []byte) {
	a.record(cpio.StaticRecord(data, cpio.Info{Mode: cpio.S_IFREG | uint64(perm), Name: name, FileSize: uint64(len(data))}))
}

// Symlink adds a symbolic link.
func (a *Archive) Symlink(name, target string) { a.record(cpio.Symlink(name, target)) }

// CharDev adds a character device node.
func (a *Archive) CharDev(name string, perm, major, minor uint32) {
	a.record(cpio.CharDev(name, uint64(perm), uint64(major), uint64(minor)))
}

// File adds the regular file src as name, streaming its contents.
func (a *Archive) File(name string, perm uint32, src string) {
	if a.err != nil {
		return
	}
	f, err := os.Open(src)
	if err != nil {
		a.Fail(fmt.Errorf("add %s to the archive: %w", src, err))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		a.Fail(fmt.Errorf("add %s to the archive: %w", src, err))
		return
	}
	if !st.Mode().IsRegular() {
		a.Fail(fmt.Errorf("add %s to the archive: not a regular file", src))
		return
	}
	a.record(cpio.Record{
		ReaderAt: io.NewSectionReader(f, 0, st.Size()),
		Info:     cpio.Info{Mode: cpio.S_IFREG | uint64(perm), Name: name, FileSize: uint64(st.Size())},
	})
}

// Tree adds the directory src, recursively, as name. Symbolic links stay
// links and device nodes keep their numbers; other special files are
// refused.
func (a *Archive) Tree(name, src string) {
	if a.err != nil {
		return
	}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		dst := path.Join(name, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			a.Dir(dst)
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			a.Symlink(dst, target)
		case info.Mode().IsRegular():
			a.File(dst, uint32(info.Mode().Perm()), p)
		case info.Mode()&fs.ModeDevice != 0:
			st, ok := info.Sys().(*syscall.Stat_t)
			if !ok {
				return fmt.Errorf("%s: no device number", p)
			}
			typ := uint64(cpio.S_IFBLK)
			if info.Mode()&fs.ModeCharDevice != 0 {
				typ = cpio.S_IFCHR
			}
			a.record(cpio.Record{Info: cpio.Info{Mode: typ | uint64(info.Mode().Perm()), Name: dst,
				Rmajor: uint64(unix.Major(st.Rdev)), Rminor: uint64(unix.Minor(st.Rdev))}})
		default:
			return fmt.Errorf("%s: unsupported file type %v", p, info.Mode().Type())
		}
		return a.err
	})
	if err != nil {
		a.Fail(fmt.Errorf("add %s to the archive: %w", src, err))
	}
}

// Close writes the trailer and flushes; it returns the first error.
func (a *Archive) Close() error {
	if a.err == nil {
		if err := cpio.WriteTrailer(a.w); err != nil {
			a.err = fmt.Errorf("cpio trailer: %w", err)
		}
	}
	if a.err != nil {
		return a.err
	}
	return a.bw.Flush()
}

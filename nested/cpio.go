package nested

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

	"golang.org/x/sys/unix"
)

// cpioWriter writes the "newc" archive format the kernel unpacks into its
// initial root file system. It is written here, rather than taken from a
// library, because L1 needs a character device (/dev/console) and newc keeps
// the device number in fields that the usual Go writers leave at zero: without
// /dev/console the kernel starts init with no stdin, stdout or stderr.
//
// The kernel accepts several archives one after another, which is how a run's
// extra files are appended to the cached base archive.
type cpioWriter struct {
	w   *bufio.Writer
	ino uint32
	off int64
	err error
}

func newCPIOWriter(w io.Writer) *cpioWriter {
	return &cpioWriter{w: bufio.NewWriterSize(w, 1<<20), ino: 1}
}

// Mode type bits, as in <sys/stat.h>.
const (
	cpioDir     = 0o040000
	cpioReg     = 0o100000
	cpioSymlink = 0o120000
	cpioChar    = 0o020000
	cpioBlock   = 0o060000
)

func (c *cpioWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(b)
	c.off += int64(n)
	c.err = err
}

func (c *cpioWriter) pad() {
	if r := c.off % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

func (c *cpioWriter) header(name string, mode uint32, size int64, rdevMajor, rdevMinor uint32) {
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	if name == "" {
		name = "."
	}
	nlink := uint32(1)
	if mode&0o170000 == cpioDir {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	c.ino++
	c.write([]byte(hdr))
	c.write(append([]byte(name), 0))
	c.pad()
}

func (c *cpioWriter) dir(name string) {
	c.header(name, cpioDir|0o755, 0, 0, 0)
}

func (c *cpioWriter) bytes(name string, perm uint32, data []byte) {
	c.header(name, cpioReg|perm, int64(len(data)), 0, 0)
	c.write(data)
	c.pad()
}

func (c *cpioWriter) symlink(name, target string) {
	c.header(name, cpioSymlink|0o777, int64(len(target)), 0, 0)
	c.write([]byte(target))
	c.pad()
}

func (c *cpioWriter) charDev(name string, perm, major, minor uint32) {
	c.header(name, cpioChar|perm, 0, major, minor)
}

// file copies the regular file src into the archive as name.
func (c *cpioWriter) file(name string, perm uint32, src string) {
	if c.err != nil {
		return
	}
	f, err := os.Open(src)
	if err != nil {
		c.err = fmt.Errorf("add %s to initramfs: %w", src, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		c.err = fmt.Errorf("add %s to initramfs: %w", src, err)
		return
	}
	if !st.Mode().IsRegular() {
		c.err = fmt.Errorf("add %s to initramfs: not a regular file", src)
		return
	}
	c.header(name, cpioReg|perm, st.Size(), 0, 0)
	if c.err != nil {
		return
	}
	n, err := io.Copy(c.w, io.LimitReader(f, st.Size()))
	c.off += n
	if err == nil && n != st.Size() {
		err = fmt.Errorf("%s shrank while being copied", src)
	}
	if err != nil {
		c.err = fmt.Errorf("add %s to initramfs: %w", src, err)
		return
	}
	c.pad()
}

// tree copies the directory src, recursively, to name. Symlinks are kept as
// links; other special files are refused.
func (c *cpioWriter) tree(name, src string) {
	if c.err != nil {
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
			c.dir(dst)
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			c.symlink(dst, target)
		case info.Mode().IsRegular():
			c.file(dst, uint32(info.Mode().Perm()), p)
		case info.Mode()&fs.ModeDevice != 0:
			st, ok := info.Sys().(*syscall.Stat_t)
			if !ok {
				return fmt.Errorf("%s: no device number", p)
			}
			typ := uint32(cpioBlock)
			if info.Mode()&fs.ModeCharDevice != 0 {
				typ = cpioChar
			}
			c.header(dst, typ|uint32(info.Mode().Perm()), 0, unix.Major(st.Rdev), unix.Minor(st.Rdev))
		default:
			return fmt.Errorf("%s: unsupported file type %v", p, info.Mode().Type())
		}
		return c.err
	})
	if err != nil && c.err == nil {
		c.err = fmt.Errorf("add %s to initramfs: %w", src, err)
	}
}

// close writes the trailer and flushes.
func (c *cpioWriter) close() error {
	c.header("TRAILER!!!", 0, 0, 0, 0)
	c.pad()
	if c.err != nil {
		return c.err
	}
	return c.w.Flush()
}

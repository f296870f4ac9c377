// Package outfile writes the files a user asked for (results, charts,
// exports) whole or not at all, and checks up front that they can be
// written, so that a long run never ends by losing its results or by
// leaving a truncated file behind (a full disk, a missing directory).
package outfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Check says whether a file can be created at path: its directory exists
// and takes a new file. Commands call it before any slow work.
func Check(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("output %s: %s is not a directory", path, dir)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("output %s: is a directory", path)
	}
	f, err := os.CreateTemp(dir, ".twinboot-check-*")
	if err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// Write creates path with what fill writes: into a temporary file beside
// it, synced, then renamed over path. If fill or any write fails, path is
// left as it was and the temporary file is removed.
func Write(path string, fill func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w := bufio.NewWriter(f)
	if err := fill(w); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; results are for sharing.
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

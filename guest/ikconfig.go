package guest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNoIKConfig means a kernel image carries no embedded config: it was
// built without CONFIG_IKCONFIG, or it is compressed (a bzImage).
var ErrNoIKConfig = errors.New("no embedded kernel config (IKCONFIG)")

// With CONFIG_IKCONFIG the build embeds the final .config, gzip-compressed,
// between these two markers (kernel/configs.c). Reading it back from the
// uncompressed vmlinux shows what the kernel was really built with.
var (
	ikcfgStart = []byte("IKCFG_ST")
	ikcfgEnd   = []byte("IKCFG_ED")
)

// EmbeddedConfig returns the .config embedded in an uncompressed kernel
// image (vmlinux).
func EmbeddedConfig(vmlinux string) ([]byte, error) {
	img, err := os.ReadFile(vmlinux)
	if err != nil {
		return nil, fmt.Errorf("read kernel image: %w", err)
	}
	cfg, err := extractIKConfig(img)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", vmlinux, err)
	}
	return cfg, nil
}

func extractIKConfig(img []byte) ([]byte, error) {
	// The marker strings also appear in the code that refers to them, so
	// look for a start marker that is followed by a gzip header.
	for off := 0; ; {
		i := bytes.Index(img[off:], ikcfgStart)
		if i < 0 {
			return nil, ErrNoIKConfig
		}
		start := off + i + len(ikcfgStart)
		off = start
		if len(img) < start+2 || img[start] != 0x1f || img[start+1] != 0x8b {
			continue
		}
		end := bytes.Index(img[start:], ikcfgEnd)
		if end < 0 {
			return nil, fmt.Errorf("%w: start marker without end marker", ErrNoIKConfig)
		}
		zr, err := gzip.NewReader(bytes.NewReader(img[start : start+end]))
		if err != nil {
			return nil, fmt.Errorf("embedded config: %w", err)
		}
		cfg, err := io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("embedded config: %w", err)
		}
		return cfg, nil
	}
}

package nested

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/twinboot/twinboot/hypervisor/elfnote"
)

// Under TCG, decompressing Debian's 8 MB xz kernel is slow: it costs L1
// several seconds before the kernel's first instruction, every boot. The
// compressed payload inside the bzImage is a plain ELF vmlinux, and Debian
// builds it with the PVH entry note, which QEMU can boot directly. So the
// host decompresses it once, natively, and L1 boots the ELF.

// extractVmlinux writes the ELF inside bzImage to dst. It handles the
// payload formats Debian has used (xz, gzip) and checks for the PVH note
// with the hypervisor's own ELF parser.
func extractVmlinux(ctx context.Context, bzImage, dst string) error {
	b, err := os.ReadFile(bzImage)
	if err != nil {
		return err
	}
	payload, err := bzPayload(b)
	if err != nil {
		return fmt.Errorf("%s: %w", bzImage, err)
	}
	out, err := os.CreateTemp(fileDir(dst), ".vmlinux-*")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	switch {
	case bytes.HasPrefix(payload, []byte("\xfd7zXZ\x00")):
		cmd := exec.CommandContext(ctx, "xz", "-dc", "--single-stream")
		cmd.Stdin, cmd.Stdout = bytes.NewReader(payload), out
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			out.Close()
			return fmt.Errorf("xz -dc: %v: %s (install xz-utils)", err, bytes.TrimSpace(stderr.Bytes()))
		}
	case bytes.HasPrefix(payload, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bytes.NewReader(payload))
		if err != nil {
			out.Close()
			return fmt.Errorf("gzip payload: %w", err)
		}
		if _, err := io.Copy(out, zr); err != nil {
			out.Close()
			return fmt.Errorf("gzip payload: %w", err)
		}
	default:
		out.Close()
		return fmt.Errorf("%s: payload compression %x not handled", bzImage, payload[:min(4, len(payload))])
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := elfnote.CheckPVH(out.Name()); err != nil {
		return fmt.Errorf("decompressed kernel: %w", err)
	}
	return os.Rename(out.Name(), dst)
}

// bzPayload finds the compressed kernel through the setup header (boot
// protocol 2.08 and later): it starts payload_offset bytes into the
// protected-mode part, which follows the (setup_sects+1) sectors of setup.
func bzPayload(b []byte) ([]byte, error) {
	if len(b) < 0x250 || string(b[0x202:0x206]) != "HdrS" {
		return nil, errors.New("not a bzImage (no HdrS)")
	}
	if v := binary.LittleEndian.Uint16(b[0x206:]); v < 0x208 {
		return nil, fmt.Errorf("boot protocol %#x has no payload fields", v)
	}
	setupSects := int(b[0x1f1])
	if setupSects == 0 {
		setupSects = 4
	}
	off := (setupSects+1)*512 + int(binary.LittleEndian.Uint32(b[0x248:]))
	n := int(binary.LittleEndian.Uint32(b[0x24c:]))
	if off < 0 || n <= 0 || off+n > len(b) {
		return nil, fmt.Errorf("payload %d+%d outside the %d-byte image", off, n, len(b))
	}
	return b[off : off+n], nil
}

func fileDir(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "."
}

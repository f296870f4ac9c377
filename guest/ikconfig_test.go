package guest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"path/filepath"
	"testing"
)

func TestExtractIKConfig(t *testing.T) {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte("CONFIG_X=y\n"))
	zw.Close()
	// A decoy marker first, as in a real image where code names the marker.
	img := append([]byte("junk IKCFG_ST not gzip "), []byte("IKCFG_ST")...)
	img = append(img, z.Bytes()...)
	img = append(img, []byte("IKCFG_ED tail")...)
	cfg, err := extractIKConfig(img)
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg) != "CONFIG_X=y\n" {
		t.Fatalf("config = %q", cfg)
	}
	if _, err := extractIKConfig([]byte("no markers here")); !errors.Is(err, ErrNoIKConfig) {
		t.Fatalf("err = %v, want ErrNoIKConfig", err)
	}
	if _, err := EmbeddedConfig(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Fatal("no error for a missing image")
	}
}

package lab

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/internal/outfile"
)

// Export writes results.json, results.csv and the charts of res into dir
// and returns the paths written. It is the same for every engine: the
// results document is written on this host.
func Export(res compare.Results, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	var files []string
	write := func(name string, fn func(io.Writer) error) error {
		p := filepath.Join(dir, name)
		if err := outfile.Write(p, fn); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		files = append(files, p)
		return nil
	}
	if err := write("results.json", func(w io.Writer) error { return compare.WriteJSON(w, res) }); err != nil {
		return files, err
	}
	if err := write("results.csv", func(w io.Writer) error { return compare.WriteCSV(w, compare.Rows(res)) }); err != nil {
		return files, err
	}
	charts, err := compare.Charts(res, dir, []string{"svg", "png"})
	files = append(files, charts...)
	if err != nil {
		return files, fmt.Errorf("export charts: %w", err)
	}
	return files, nil
}

package compare

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCharts(t *testing.T) {
	dir := t.TempDir()
	res := synthetic(5)
	files, err := Charts(res, dir, []string{"svg", "png"})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 6 {
		t.Fatalf("wrote %v, want 3 charts × 2 formats", files)
	}
	titles := map[string]string{ChartPhases: TitlePhases, ChartMemory: TitleMemory, ChartBootTime: TitleBootTime}
	for name, title := range titles {
		svg, err := os.ReadFile(filepath.Join(dir, name+".svg"))
		if err != nil {
			t.Fatal(err)
		}
		text := svgText(t, svg)
		for _, want := range []string{title, "host lab", "emulated", "2026-11-27 23:00 UTC"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s.svg: text %q lacks %q", name, text, want)
			}
		}
		f, err := os.Open(filepath.Join(dir, name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Errorf("%s.png: %v", name, err)
		} else if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 100 {
			t.Errorf("%s.png is %v", name, b)
		}
	}
	// Axis units appear on the charts.
	for name, unit := range map[string]string{ChartPhases: "ms", ChartMemory: "MiB", ChartBootTime: "ms, log scale"} {
		svg, _ := os.ReadFile(filepath.Join(dir, name+".svg"))
		if !strings.Contains(svgText(t, svg), unit) {
			t.Errorf("%s.svg lacks its unit %q", name, unit)
		}
	}
}

// svgText parses an SVG document as XML and returns its character data: a
// chart that is not well-formed XML fails here.
func svgText(t *testing.T, b []byte) string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var sb strings.Builder
	var root string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not valid XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = el.Name.Local
			}
		case xml.CharData:
			sb.Write(el)
			sb.WriteByte(' ')
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	return sb.String()
}

func TestChartsNative(t *testing.T) {
	res := synthetic(1)
	res.Emulated, res.Mode = false, "native"
	dir := t.TempDir()
	if _, err := Charts(res, dir, []string{"svg"}); err != nil {
		t.Fatal(err)
	}
	svg, _ := os.ReadFile(filepath.Join(dir, ChartBootTime+".svg"))
	if text := svgText(t, svg); !strings.Contains(text, "mode native") || strings.Contains(text, "emulated") {
		t.Errorf("native chart mislabelled: %q", text)
	}
}

func TestChartsRejects(t *testing.T) {
	dir := t.TempDir()
	other := synthetic(1)
	other.Schema = "someone-else/v3"
	if _, err := Charts(other, dir, []string{"svg"}); !errors.Is(err, ErrUnknownSchema) {
		t.Errorf("unknown schema: got %v", err)
	}
	if _, err := Charts(synthetic(1), dir, []string{"gif"}); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("unknown format: got %v", err)
	}
	empty := synthetic(0) // only the warmup run
	if _, err := Charts(empty, dir, []string{"svg"}); err == nil || !strings.Contains(err.Error(), "no successful run") {
		t.Errorf("nothing to draw: got %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("rejected inputs left files: %v", entries)
	}
}

func TestParseFormats(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  bool
	}{
		{"svg", "svg", false},
		{"svg,png", "svg png", false},
		{" PNG ", "png", false},
		{"svg,jpeg", "", true},
		{"", "", true},
	} {
		got, err := ParseFormats(tc.in)
		if (err != nil) != tc.err || strings.Join(got, " ") != tc.want {
			t.Errorf("ParseFormats(%q) = %v, %v", tc.in, got, err)
		}
		if err != nil && !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("ParseFormats(%q): %v is not ErrUnknownFormat", tc.in, err)
		}
	}
}

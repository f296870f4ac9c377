package nested

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestParseFrame(t *testing.T) {
	for _, tc := range []struct {
		line     string
		tag, pay string
		ok       bool
	}{
		{`TB1:ev:{"kind":"log"}`, "ev", `{"kind":"log"}`, true},
		{"TB1:quit:", "quit", "", true},
		{"TB1:exit:{\"code\":0}\r", "exit", `{"code":0}`, true},
		{"TB1:out:a:b", "out", "a:b", true},
		{"[    1.234] TB1:ev:{}", "", "", false}, // a kernel log line quoting a frame
		{"TB1::x", "", "", false},
		{"TB1:noseparator", "", "", false},
		{"", "", "", false},
		{"tb1:ev:{}", "", "", false},
	} {
		tag, pay, ok := parseFrame([]byte(tc.line))
		if ok != tc.ok || tag != tc.tag || string(pay) != tc.pay {
			t.Errorf("parseFrame(%q) = %q, %q, %v; want %q, %q, %v", tc.line, tag, pay, ok, tc.tag, tc.pay, tc.ok)
		}
	}
}

func TestFrameWriterRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	fw := &frameWriter{w: &buf}
	if err := fw.json(tagExit, exitMsg{ID: 3, Code: 7, Err: "line one\nline two"}); err != nil {
		t.Fatal(err)
	}
	if err := fw.raw(tagQuit, nil); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("want 2 lines (a newline in a payload must be escaped), got %d: %q", len(lines), buf.String())
	}
	tag, pay, ok := parseFrame(lines[0])
	if !ok || tag != tagExit || !bytes.Contains(pay, []byte(`"code":7`)) {
		t.Fatalf("first frame: %q %q %v", tag, pay, ok)
	}
	if tag, _, ok := parseFrame(lines[1]); !ok || tag != tagQuit {
		t.Fatalf("second frame: %q %v", tag, ok)
	}
}

// Input frames carry any byte, newlines and frame prefixes included, and
// still make exactly one line that parses back to the same bytes.
func TestInputFrameRoundTrip(t *testing.T) {
	data := []byte("echo hi\n\rTB1:quit:\n\x00\x1d\xff")
	var buf bytes.Buffer
	fw := &frameWriter{w: &buf}
	if err := fw.json(tagInput, inputMsg{ID: 5, Data: data, EOF: true}); err != nil {
		t.Fatal(err)
	}
	if err := fw.json(tagStop, stopMsg{ID: 5}); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", buf.String())
	}
	tag, pay, ok := parseFrame(lines[0])
	if !ok || tag != tagInput {
		t.Fatalf("first frame: %q %v", tag, ok)
	}
	var got inputMsg
	if err := json.Unmarshal(pay, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != 5 || !got.EOF || !bytes.Equal(got.Data, data) {
		t.Fatalf("decoded %+v, want id 5, eof, data %q", got, data)
	}
	tag, pay, ok = parseFrame(lines[1])
	var st stopMsg
	if !ok || tag != tagStop || json.Unmarshal(pay, &st) != nil || st.ID != 5 {
		t.Fatalf("second frame: %q %q %v", tag, pay, ok)
	}
}

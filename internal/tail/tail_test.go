package tail

import (
	"reflect"
	"strings"
	"testing"
)

func TestBuffer(t *testing.T) {
	b := New(18) // exactly "second\n\n  third  \n"
	b.Write([]byte("first line\r\nsecond\n\n  third  \n"))
	if got, want := b.Lines(2), []string{"second", "third"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Lines(2) = %q, want %q", got, want)
	}
	if strings.Contains(strings.Join(b.Lines(10), " "), "first") {
		t.Errorf("kept more than 18 bytes: %q", b.Lines(10))
	}
	if b.Join(2) != "second | third" || !b.Contains("third") {
		t.Errorf("Join = %q", b.Join(2))
	}
}

func TestLastLine(t *testing.T) {
	for in, want := range map[string]string{"": "", "a\nb\n": "b", "only": "only", "x\n\n  \n": "x"} {
		if got := LastLine(in); got != want {
			t.Errorf("LastLine(%q) = %q, want %q", in, got, want)
		}
	}
}

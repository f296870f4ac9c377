package lab

import (
	"strings"
	"testing"
)

func TestReadStreamErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"bad json", "{oops\n", "line 1"},
		{"unknown kind", `{"kind":"phase","data":{}}` + "\n" + `{"kind":"nope","data":{}}` + "\n", "line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadStream(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
	evs, err := ReadStream(strings.NewReader("\n" + `{"kind":"log","data":{"msg":"hi"}}` + "\n\n"))
	if err != nil || len(evs) != 1 {
		t.Fatalf("blank lines: %v, %d events", err, len(evs))
	}
}

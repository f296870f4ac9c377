package event

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	for _, ev := range []Event{
		Phase{Side: VM, Name: "first KVM_RUN", At: 3 * time.Millisecond, Emulated: true},
		Console{Side: Container, Text: "hello\n"},
		Log{Msg: "mode nested"},
		Progress{What: "bench", Done: 2, Total: 5},
		Failure{Side: VM, Err: "timeout"},
	} {
		var buf bytes.Buffer
		if err := Write(&buf, ev); err != nil {
			t.Fatal(err)
		}
		got, err := Decode(bytes.TrimSpace(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, ev) {
			t.Fatalf("round trip: got %#v, want %#v", got, ev)
		}
	}
}

func TestDecodeBad(t *testing.T) {
	if _, err := Decode([]byte(`{"kind":"nope","data":{}}`)); !errors.Is(err, ErrUnknownKind) {
		t.Fatalf("unknown kind: err = %v", err)
	}
	if _, err := Decode([]byte(`not json`)); err == nil {
		t.Fatal("bad JSON: want error")
	}
}

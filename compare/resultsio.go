package compare

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrUnknownSchema means a results document is not one this version of
// twinboot can read.
var ErrUnknownSchema = errors.New("unknown results schema")

// WriteJSON writes r as one indented JSON document followed by a newline:
// `twinboot run --json | jq` must see exactly one value.
func WriteJSON(w io.Writer, r Results) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// DecodeResults reads one results document and checks its schema before
// trusting any field: a document from another tool or a future version would
// otherwise decode into zeros and chart nonsense.
func DecodeResults(rd io.Reader) (Results, error) {
	b, err := io.ReadAll(rd)
	if err != nil {
		return Results{}, fmt.Errorf("read results: %w", err)
	}
	var probe struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return Results{}, fmt.Errorf("parse results: %w", err)
	}
	switch {
	case probe.Schema == nil:
		return Results{}, fmt.Errorf("%w: no \"schema\" field (want %q)", ErrUnknownSchema, Schema)
	case *probe.Schema != Schema:
		return Results{}, fmt.Errorf("%w %q (this twinboot reads %q)", ErrUnknownSchema, *probe.Schema, Schema)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return Results{}, fmt.Errorf("parse results: %w", err)
	}
	return r, nil
}

// ReadResultsFile reads a results document from path.
func ReadResultsFile(path string) (Results, error) {
	f, err := os.Open(path)
	if err != nil {
		return Results{}, fmt.Errorf("open results: %w", err)
	}
	defer f.Close()
	r, err := DecodeResults(f)
	if err != nil {
		return Results{}, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

package compare

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// Every bad option is refused by Validate, before anything runs, naming
// what is wrong: the command line calls it before it boots L1 or starts a
// benchmark.
func TestValidateRefusesBadOptions(t *testing.T) {
	ok := Options{Runs: 10}
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, c := range []struct {
		name string
		o    Options
		want string
	}{
		{"runs overflow", Options{Runs: math.MaxInt64}, "runs must be 1 to 1000"},
		{"runs 0", Options{Runs: 0}, "runs must be 1 to 1000"},
		{"warmup too many", Options{Runs: 1, Warmup: 101}, "warmup must be 0 to 100"},
		{"negative timeout", Options{Runs: 1, Timeout: -time.Second}, "negative timeout"},
		{"vm memory too small", Options{Runs: 1, VMMemBytes: 1 << 20}, "minimum is 32 MiB"},
		{"vm cpus", Options{Runs: 1, VMCPUs: 1000}, "1000 (want 1..64)"},
		{"container memory", Options{Runs: 1, CTMemBytes: 1}, "below the 2 MiB"},
		{"mode", Options{Runs: 1, Mode: "sideways"}, "sideways"},
	} {
		err := c.o.Validate()
		if !errors.Is(err, ErrBadOptions) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %v mentioning %q", c.name, err, ErrBadOptions, c.want)
		}
	}
}

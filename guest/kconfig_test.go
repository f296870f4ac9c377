package guest

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	in := `# comment
CONFIG_A=y
CONFIG_B=m

# CONFIG_C is not set
CONFIG_D="-twinboot"
CONFIG_E=64
CONFIG_A=n
`
	got, err := ParseConfig([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"CONFIG_A": "n", "CONFIG_B": "m", "CONFIG_C": "n", "CONFIG_D": `"-twinboot"`, "CONFIG_E": "64"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"A=y", "CONFIG_X", "CONFIG_Y="} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("ParseConfig(%q): no error", bad)
		}
	}
}

func TestUnmet(t *testing.T) {
	want := map[string]string{"CONFIG_A": "y", "CONFIG_B": "n", "CONFIG_C": "y", "CONFIG_D": `"x"`}
	got := map[string]string{"CONFIG_A": "y", "CONFIG_C": "m", "CONFIG_D": `"y"`}
	bad := Unmet(want, got)
	if len(bad) != 2 || !strings.HasPrefix(bad[0], "CONFIG_C=y (got: m)") || !strings.HasPrefix(bad[1], `CONFIG_D="x"`) {
		t.Fatalf("Unmet = %q", bad)
	}
	// Absent counts as "not set": CONFIG_B=n is met.
	if bad := Unmet(map[string]string{"CONFIG_Z": "y"}, nil); len(bad) != 1 || !strings.Contains(bad[0], "absent") {
		t.Fatalf("Unmet on absent = %q", bad)
	}
}

// The fragment itself parses, and every option has a comment line above it
// saying why the lab needs it.
func TestFragmentCommented(t *testing.T) {
	opts, err := ParseConfig(Fragment)
	if err != nil {
		t.Fatal(err)
	}
	if len(opts) < 30 {
		t.Fatalf("fragment has only %d options", len(opts))
	}
	lines := strings.Split(string(Fragment), "\n")
	for i, l := range lines {
		isOpt := strings.HasPrefix(l, "CONFIG_") || strings.HasSuffix(l, " is not set")
		if !isOpt {
			continue
		}
		if i == 0 || !strings.HasPrefix(lines[i-1], "# ") || strings.HasSuffix(lines[i-1], " is not set") {
			t.Errorf("line %d %q has no comment line above it", i+1, l)
		}
	}
	for _, must := range []string{"CONFIG_FUTEX", "CONFIG_EPOLL", "CONFIG_EVENTFD", "CONFIG_NET", "CONFIG_PVH", "CONFIG_IKCONFIG", "CONFIG_SMP", "CONFIG_PROC_SYSCTL"} {
		if opts[must] != "y" {
			t.Errorf("%s = %q, want y", must, opts[must])
		}
	}
}

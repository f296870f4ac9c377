package guest

import (
	"bufio"
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// notSet is how a Kconfig file spells a disabled option ("# CONFIG_X is not
// set"); ParseConfig maps such lines to this value.
const notSet = "n"

// ParseConfig reads a Kconfig file (a .config, a fragment, or the embedded
// IKCONFIG) into option name → value: "y", "m", a number, a quoted string,
// or "n" for "# CONFIG_X is not set". Comments and blank lines are skipped;
// a later line for the same option wins, as it does for Kconfig itself.
func ParseConfig(b []byte) (map[string]string, error) {
	opts := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if name, ok := strings.CutPrefix(line, "# CONFIG_"); ok {
			if name, ok = strings.CutSuffix(name, " is not set"); ok {
				opts["CONFIG_"+name] = notSet
			}
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(name, "CONFIG_") || value == "" {
			return nil, fmt.Errorf("line %d: %q is not CONFIG_NAME=value", n, line)
		}
		opts[name] = value
	}
	return opts, sc.Err()
}

// Unmet lists the options of want that got does not have as asked, each as
// "CONFIG_X=want (got: …)", sorted. An option missing from got counts as not
// set, which is how Kconfig leaves options whose dependencies are off.
func Unmet(want, got map[string]string) []string {
	var bad []string
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			g = notSet
		}
		if g != w {
			bad = append(bad, fmt.Sprintf("%s=%s (got: %s)", name, w, describe(g, ok)))
		}
	}
	sort.Strings(bad)
	return bad
}

func describe(v string, present bool) string {
	switch {
	case !present:
		return "absent, a dependency is off"
	case v == notSet:
		return "not set"
	}
	return v
}

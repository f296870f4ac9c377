package runtime

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// errUsage marks a command line that could not be parsed (exit status 2).
var errUsage = errors.New("usage")

// flagDef is one flag a verb takes. Names are given without dashes; the
// first is the long name, others are aliases ("b" for "bundle").
type flagDef struct {
	names   []string
	boolean bool
	many    bool // may be given several times (values accumulate)
	help    string
}

// flagSet is the result of parsing: values by long name, then the
// positional arguments.
type flagSet struct {
	values map[string][]string
	args   []string
}

func (f *flagSet) str(name string) string {
	v := f.values[name]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func (f *flagSet) all(name string) []string { return f.values[name] }

func (f *flagSet) bool(name string) bool {
	b, _ := strconv.ParseBool(f.str(name))
	return b
}

// parseFlags reads flags as urfave/cli (runc's parser) accepts them: -x,
// --x, -name and --name, each with "=value" or the value as the next
// argument (booleans take only "=value"). Parsing stops at the first
// positional argument or at "--", so that `exec ID CMD -flag` leaves the
// command's flags alone.
func parseFlags(verb string, defs []flagDef, args []string) (*flagSet, error) {
	byName := map[string]*flagDef{}
	for i := range defs {
		for _, n := range defs[i].names {
			byName[n] = &defs[i]
		}
	}
	fs := &flagSet{values: map[string][]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			fs.args = append(fs.args, args[i+1:]...)
			return fs, nil
		}
		if len(a) < 2 || a[0] != '-' {
			fs.args = append(fs.args, args[i:]...)
			return fs, nil
		}
		name := strings.TrimLeft(a, "-")
		value, hasValue := "", false
		if k, v, ok := strings.Cut(name, "="); ok {
			name, value, hasValue = k, v, true
		}
		d := byName[name]
		if d == nil {
			return nil, fmt.Errorf("%w: %s: unknown flag %s", errUsage, verb, a)
		}
		switch {
		case d.boolean && !hasValue:
			value = "true"
		case d.boolean:
			if _, err := strconv.ParseBool(value); err != nil {
				return nil, fmt.Errorf("%w: %s: flag %s takes true or false, not %q", errUsage, verb, a, value)
			}
		case !hasValue:
			if i+1 >= len(args) {
				return nil, fmt.Errorf("%w: %s: flag %s needs a value", errUsage, verb, a)
			}
			i++
			value = args[i]
		}
		long := d.names[0]
		if d.many {
			fs.values[long] = append(fs.values[long], value)
		} else {
			fs.values[long] = []string{value}
		}
	}
	return fs, nil
}

// usageOf renders a verb's flags for --help.
func usageOf(defs []flagDef) string {
	var b strings.Builder
	for _, d := range defs {
		var names []string
		for _, n := range d.names {
			if len(n) == 1 {
				names = append(names, "-"+n)
			} else {
				names = append(names, "--"+n)
			}
		}
		arg := ""
		if !d.boolean {
			arg = " VALUE"
		}
		fmt.Fprintf(&b, "  %s%s\n        %s\n", strings.Join(names, ", "), arg, d.help)
	}
	return b.String()
}

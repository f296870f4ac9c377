package docs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestTryItCommandsAreReal runs every `twinboot …` command that a lesson
// quotes with --help on the real binary, and checks that the command exists
// and that each flag the lesson uses is in its help. A lesson that tells a
// student to type something the CLI rejects is a broken lesson.
//
// The binary is $TWINBOOT_BIN when set (make test can pass build/bin/twinboot)
// and is otherwise built from the repository into a temp dir.
func TestTryItCommandsAreReal(t *testing.T) {
	quoted := map[string][]string{} // command → where it is quoted
	forEachStep(t, func(where string, s Step) {
		for _, c := range s.Commands {
			quoted[c] = append(quoted[c], where)
		}
	})
	for c, where := range pageCommands(t) {
		quoted[c] = append(quoted[c], where...)
	}
	if len(quoted) == 0 {
		t.Fatal("no lesson quotes a twinboot command")
	}
	bin := twinbootBinary(t)

	helps := map[string]string{} // command path → help text
	cmds := make([]string, 0, len(quoted))
	for c := range quoted {
		cmds = append(cmds, c)
	}
	sort.Strings(cmds)
	for _, c := range cmds {
		inv, err := parseInvocation(c)
		if err != nil {
			t.Errorf("%q (quoted in %s): %v", c, quoted[c][0], err)
			continue
		}
		key := strings.Join(inv.path, " ")
		help, ok := helps[key]
		if !ok {
			help, err = runHelp(bin, inv.path)
			if err != nil && len(inv.path) > 1 {
				// A command with subcommands ("guest info") may declare all
				// its flags on the parent and answer --help only there.
				if h, perr := runHelp(bin, inv.path[:1]); perr == nil && strings.Contains(h, inv.path[1]) {
					help, err = h, nil
				}
			}
			if err != nil {
				t.Errorf("%q (quoted in %s): %v", c, quoted[c][0], err)
			}
			helps[key] = help
		}
		if err != nil || help == "" {
			continue
		}
		for _, f := range inv.flags {
			if !flagInHelp(help, f) {
				t.Errorf("%q (quoted in %s): flag --%s is not in `twinboot %s --help`", c, quoted[c][0], f, key)
			}
		}
	}
}

// pageCommands collects the twinboot commands quoted by the other pages of
// docs/ (architecture, metrics, instructors…): inline code spans and lines
// of ``` blocks that start with "twinboot ".
func pageCommands(t *testing.T) map[string][]string {
	t.Helper()
	pages, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		inFence := false
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				inFence = !inFence
				continue
			}
			var cmds []string
			if inFence {
				if c := strings.TrimSpace(line); strings.HasPrefix(c, "twinboot ") {
					cmds = append(cmds, c)
				}
			} else {
				cmds = commands(line)
			}
			for _, c := range cmds {
				out[c] = append(out[c], page)
			}
		}
	}
	return out
}

// TestPageKeysAreLabKeys checks the <kbd> keys of the other pages, as
// TestKeysAreLabKeys does for the lessons.
func TestPageKeysAreLabKeys(t *testing.T) {
	pages, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys(string(b)) {
			if !slices.Contains(labKeys, k) {
				t.Errorf("%s: key %q is not one of the lab's keys %q", page, k, labKeys)
			}
		}
	}
}

func twinbootBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("TWINBOOT_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "twinboot")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/twinboot/twinboot/cmd/twinboot")
	cmd.Dir = ".." // the module root: this package is <root>/docs
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build twinboot: %v\n%s", err, out)
	}
	return bin
}

// runHelp runs `twinboot <path…> --help` and returns what it printed.
func runHelp(bin string, path []string) (string, error) {
	cmd := exec.Command(bin, append(append([]string{}, path...), "--help")...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() == 2:
		return "", fmt.Errorf("`twinboot %s --help` exits 2 (unknown command, not landed yet?):\n%s", strings.Join(path, " "), firstLines(string(out), 3))
	case err != nil:
		return "", fmt.Errorf("`twinboot %s --help`: %v\n%s", strings.Join(path, " "), err, firstLines(string(out), 3))
	}
	return string(out), nil
}

func flagInHelp(help, name string) bool {
	// Go's flag package prints "  -name type"; accept one or two dashes, so a
	// hand-written help text passes too.
	return regexp.MustCompile(`(?m)(^|[\s,\[])--?` + regexp.QuoteMeta(name) + `($|[\s=,\]])`).MatchString(help)
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// invocation is a quoted command split into the subcommand path ("ct run"),
// the flag names it uses, and nothing else: positional arguments and
// everything after "--" (the container's own command) are not the CLI's.
type invocation struct {
	path  []string
	flags []string
}

var pathWord = regexp.MustCompile(`^[a-z][a-z-]*$`)

func parseInvocation(cmdline string) (invocation, error) {
	words, err := shellWords(cmdline)
	if err != nil {
		return invocation{}, err
	}
	if len(words) < 2 || words[0] != "twinboot" {
		return invocation{}, fmt.Errorf("not a twinboot command")
	}
	var inv invocation
	i := 1
	for ; i < len(words) && pathWord.MatchString(words[i]); i++ {
		inv.path = append(inv.path, words[i])
	}
	if len(inv.path) == 0 {
		return invocation{}, fmt.Errorf("no subcommand")
	}
	for ; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			break
		}
		if strings.HasPrefix(w, "-") && len(w) > 1 {
			name, _, _ := strings.Cut(strings.TrimLeft(w, "-"), "=")
			inv.flags = append(inv.flags, name)
		}
	}
	return inv, nil
}

// shellWords splits a command line as sh would for the simple quoting that
// lessons use: spaces, '…' and "…". Redirections and pipes end the command.
func shellWords(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool // inside a word
		quote rune
	)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case (r == '>' || r == '|' || r == '<') && !in:
			return words, nil
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed %c quote", quote)
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

func TestParseInvocation(t *testing.T) {
	for _, c := range []struct {
		in   string
		want invocation
	}{
		{"twinboot run", invocation{path: []string{"run"}}},
		{"twinboot vm --mem 64M --cpus=2", invocation{path: []string{"vm"}, flags: []string{"mem", "cpus"}}},
		{"twinboot ct run --mem 16M -- sh -c 'x=$(head -c 1 /dev/zero); echo --no'", invocation{path: []string{"ct", "run"}, flags: []string{"mem"}}},
		{"twinboot chart results.json --out slides", invocation{path: []string{"chart"}, flags: []string{"out"}}},
		{"twinboot bench --runs 10 --format csv > runs.csv", invocation{path: []string{"bench"}, flags: []string{"runs", "format"}}},
		{"twinboot ct spec --rootfs \"my dir\"", invocation{path: []string{"ct", "spec"}, flags: []string{"rootfs"}}},
	} {
		got, err := parseInvocation(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("parseInvocation(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"twinboot", "twinboot --json", "twinboot run 'open", "runc run"} {
		if _, err := parseInvocation(bad); err == nil {
			t.Errorf("parseInvocation(%q) succeeded, want an error", bad)
		}
	}
}

func TestFlagInHelp(t *testing.T) {
	help := "Usage: twinboot vm [flags]\n\nFlags:\n  -mem string\n    \tguest RAM (default \"128M\")\n  -json\n    \tprint JSON\n"
	for name, want := range map[string]bool{"mem": true, "json": true, "me": false, "cpus": false} {
		if got := flagInHelp(help, name); got != want {
			t.Errorf("flagInHelp(%q) = %v, want %v", name, got, want)
		}
	}
}

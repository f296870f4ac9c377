package docs

import (
	"errors"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestLanguages(t *testing.T) {
	if got, want := Languages(), []string{"en", "ko"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Languages() = %q, want %q", got, want)
	}
}

func TestUnknownLanguage(t *testing.T) {
	for _, lang := range []string{"", "fr", "../lessons", "en/../ko"} {
		if _, err := Lessons(lang); !errors.Is(err, ErrUnknownLanguage) {
			t.Errorf("Lessons(%q) error = %v, want ErrUnknownLanguage", lang, err)
		}
	}
}

// TestEveryLessonParses also checks that each step is complete: a step with
// nothing to try teaches nothing the learner can see.
func TestEveryLessonParses(t *testing.T) {
	for _, lang := range Languages() {
		lessons, err := Lessons(lang)
		if err != nil {
			t.Fatal(err)
		}
		if len(lessons) == 0 {
			t.Fatalf("%s: no lessons", lang)
		}
		for _, l := range lessons {
			if l.Title == "" || l.Summary == "" {
				t.Errorf("%s/%s: title %q, summary %q: both are needed", lang, l.ID, l.Title, l.Summary)
			}
			for _, s := range l.Steps {
				where := lang + "/" + l.ID + "#" + s.ID
				if s.Title == "" || s.Body == "" || s.TryIt == "" {
					t.Errorf("%s: empty title, body or Try it", where)
				}
				if len(s.Commands) == 0 && len(s.Keys) == 0 {
					t.Errorf("%s: Try it quotes no `twinboot …` command and no <kbd>key</kbd>", where)
				}
				if strings.Contains(s.Body+s.TryIt, "<kbd>") {
					t.Errorf("%s: <kbd> left in the text", where)
				}
			}
		}
	}
}

// TestLanguagesMatch is what lets the lab switch language without losing the
// learner's place: same lessons, same steps, same order, and the same things
// to try, so that no language silently drops an exercise.
func TestLanguagesMatch(t *testing.T) {
	en, err := Lessons("en")
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range Languages() {
		if lang == "en" {
			continue
		}
		other, err := Lessons(lang)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := lessonIDs(other), lessonIDs(en); !slices.Equal(got, want) {
			t.Errorf("%s lessons = %q, en has %q", lang, got, want)
			continue
		}
		for i := range en {
			a, b := en[i], other[i]
			if got, want := stepIDs(b), stepIDs(a); !slices.Equal(got, want) {
				t.Errorf("%s/%s steps = %q, en has %q", lang, b.ID, got, want)
				continue
			}
			for j := range a.Steps {
				sa, sb := a.Steps[j], b.Steps[j]
				if !slices.Equal(sa.Commands, sb.Commands) {
					t.Errorf("%s/%s#%s commands = %q, en has %q", lang, b.ID, sb.ID, sb.Commands, sa.Commands)
				}
				if !slices.Equal(sa.Keys, sb.Keys) {
					t.Errorf("%s/%s#%s keys = %q, en has %q", lang, b.ID, sb.ID, sb.Keys, sa.Keys)
				}
			}
		}
	}
}

// labKeys is the lab's key map (issue 7, and the fleet view's f and x of
// issue 14; tui.Keys as it stands, without the
// arrow and ctrl+c aliases). docs cannot import tui, since tui imports docs,
// so this list is the contract: a lesson may only tell the learner to press a
// key that is here.
var labKeys = []string{"r", "b", "s", "tab", "l", "n", "p", "e", "m", "L", "?", "q", "f", "x"}

func TestKeysAreLabKeys(t *testing.T) {
	forEachStep(t, func(where string, s Step) {
		for _, k := range s.Keys {
			if !slices.Contains(labKeys, k) {
				t.Errorf("%s: key %q is not one of the lab's keys %q", where, k, labKeys)
			}
		}
	})
}

// figure matches a number with a unit of time, size, ratio or share: the kind
// of figure that only a measurement on the learner's own machine may give.
// Korean units have no \b after them because Go's \b is ASCII-only.
var figure = regexp.MustCompile(`\b[0-9]+(?:[.,][0-9]+)?\s*(?:(?:ms|µs|us|ns|s|sec|seconds?|min|minutes?|[kKMGT]i?B|[KMG]|x)\b|%|×|배|초|밀리초|분|바이트)`)

// TestNoMeasuredFigures keeps lessons honest: they tell the learner where to
// look, never what number they will see. Code spans (flag values such as
// `--mem 16M`) are exempt, and so is a line marked "(example)" or "(예시)".
func TestNoMeasuredFigures(t *testing.T) {
	for _, lang := range Languages() {
		lessons, err := Lessons(lang)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lessons {
			text := l.Title + "\n" + l.Summary
			for _, s := range l.Steps {
				text += "\n" + s.Title + "\n" + s.Body + "\n" + s.TryIt
			}
			for _, line := range strings.Split(text, "\n") {
				if strings.Contains(line, "(example)") || strings.Contains(line, "(예시)") {
					continue
				}
				prose := codeSpan.ReplaceAllString(line, "")
				if m := figure.FindString(prose); m != "" {
					t.Errorf("%s/%s: %q states a figure; say where to look instead, or mark the line (example)", lang, l.ID, m)
				}
			}
		}
	}
}

func TestFigureCheck(t *testing.T) {
	for _, c := range []struct {
		text string
		want bool
	}{
		{"boots in 120 ms", true},
		{"uses 5 MiB", true},
		{"about 3.5x faster", true},
		{"3배 빠르다", true},
		{"2초 만에", true},
		{"50% less", true},
		{"two kernels", false},
		{"step 3 shows", false},
		{"4 steps", false},
		{"10 runs", false},
		{"PID 1", false},
	} {
		if got := figure.MatchString(c.text); got != c.want {
			t.Errorf("figure.MatchString(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}

func forEachStep(t *testing.T, f func(where string, s Step)) {
	t.Helper()
	for _, lang := range Languages() {
		lessons, err := Lessons(lang)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lessons {
			for _, s := range l.Steps {
				f(lang+"/"+l.ID+"#"+s.ID, s)
			}
		}
	}
}

func lessonIDs(ls []Lesson) []string {
	var ids []string
	for _, l := range ls {
		ids = append(ids, l.ID)
	}
	return ids
}

func stepIDs(l Lesson) []string {
	var ids []string
	for _, s := range l.Steps {
		ids = append(ids, s.ID)
	}
	return ids
}

package docs

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const text = "# The title\n" +
		"\n" +
		"A summary.\n" +
		"\n" +
		"## first: First step\n" +
		"Body with `twinboot vm --mem 64M` and <kbd>r</kbd>.\n" +
		"\n" +
		"```\n" +
		"## not a heading inside a fence\n" +
		"```\n" +
		"\n" +
		"### Try it\n" +
		"Press <kbd>s</kbd>, then <kbd>tab</kbd>, then <kbd>s</kbd> again; run `hostname`.\n" +
		"\n" +
		"## second: Second step\n" +
		"Only a body.\n" +
		"### 해 보기\n" +
		"`twinboot run --json` 를 실행해요.\n"
	got, err := parse("demo", text)
	if err != nil {
		t.Fatal(err)
	}
	want := Lesson{
		ID:      "demo",
		Title:   "The title",
		Summary: "A summary.",
		Steps: []Step{
			{
				ID:       "first",
				Title:    "First step",
				Body:     "Body with `twinboot vm --mem 64M` and [r].\n\n```\n## not a heading inside a fence\n```",
				TryIt:    "Press [s], then [tab], then [s] again; run `hostname`.",
				Commands: []string{"twinboot vm --mem 64M"},
				Keys:     []string{"r", "s", "tab"},
			},
			{
				ID:       "second",
				Title:    "Second step",
				Body:     "Only a body.",
				TryIt:    "`twinboot run --json` 를 실행해요.",
				Commands: []string{"twinboot run --json"},
			},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parse:\n got %#v\nwant %#v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		name, text, want string
	}{
		{"empty", "", "no \"# Title\""},
		{"no steps", "# T\ntext\n", "no \"## step-id: Title\""},
		{"two titles", "# T\n# U\n## a: A\n", "second lesson title"},
		{"title late", "text\n# T\n## a: A\n", "title must come first"},
		{"bad step id", "# T\n## Step One: A\n", "is not \"## step-id: Title\""},
		{"step without title", "# T\n## a:\n", "is not \"## step-id: Title\""},
		{"duplicate step", "# T\n## a: A\n## a: B\n", "appears twice"},
		{"unknown h3", "# T\n## a: A\n### Try this\n", "unknown heading"},
		{"try before step", "# T\n### Try it\n## a: A\n", "before the first step"},
		{"two try parts", "# T\n## a: A\n### Try it\nx\n### Try it\n", "two"},
		{"h4", "# T\n## a: A\n#### deep\n", "unexpected heading"},
		{"open fence", "# T\n## a: A\n```\ncode\n", "never closed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse("x", c.text)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("parse error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestLessonID(t *testing.T) {
	for file, want := range map[string]string{
		"01-vm.md":               "vm",
		"03-why-containers.md":   "why-containers",
		"orchestration.md":       "orchestration",
		"10-2-step.md":           "2-step",
		"00-intro-to-the-lab.md": "intro-to-the-lab",
	} {
		if got := lessonID(file); got != want {
			t.Errorf("lessonID(%q) = %q, want %q", file, got, want)
		}
	}
}

package docs

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
)

//go:embed lessons
var lessonFiles embed.FS

// Lesson is one concept of the course.
type Lesson struct {
	ID      string // from the file name: "vm" for 01-vm.md
	Title   string
	Summary string // the paragraph before the first step; may be empty
	Steps   []Step
}

// Step is one thing to read and one thing to try.
type Step struct {
	ID    string // stable across languages
	Title string
	Body  string // Markdown, <kbd>x</kbd> rewritten to [x]
	TryIt string // Markdown, as Body; what to do and what to look at

	Commands []string // inline code spans starting with "twinboot ", in order
	Keys     []string // lab keys from <kbd>…</kbd>, in order, without repeats
}

// ErrUnknownLanguage is returned by Lessons for a language with no lessons.
var ErrUnknownLanguage = errors.New("unknown lesson language")

// tryItHeadings are the accepted texts of the level-3 heading that starts a
// step's "Try it" part, one per language.
var tryItHeadings = map[string]bool{"Try it": true, "해 보기": true}

// Languages lists the languages that have lessons, sorted.
func Languages() []string {
	entries, err := lessonFiles.ReadDir("lessons")
	if err != nil {
		return nil // cannot happen: the directory is embedded at build time
	}
	var langs []string
	for _, e := range entries {
		if e.IsDir() {
			langs = append(langs, e.Name())
		}
	}
	sort.Strings(langs)
	return langs
}

// Lessons parses the lessons of lang ("en", "ko") in course order.
func Lessons(lang string) ([]Lesson, error) {
	dir := path.Join("lessons", lang)
	if lang == "" || strings.ContainsAny(lang, "/.") {
		return nil, fmt.Errorf("lessons %q: %w", lang, ErrUnknownLanguage)
	}
	entries, err := lessonFiles.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("lessons %q: %w", lang, ErrUnknownLanguage)
	}
	if err != nil {
		return nil, fmt.Errorf("lessons %q: %w", lang, err)
	}
	var lessons []Lesson
	for _, e := range entries { // ReadDir sorts by name, so NN- orders them
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".md") {
			continue
		}
		name := path.Join(dir, e.Name())
		b, err := lessonFiles.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read lesson %s: %w", name, err)
		}
		l, err := parse(lessonID(e.Name()), string(b))
		if err != nil {
			return nil, fmt.Errorf("parse lesson %s: %w", name, err)
		}
		lessons = append(lessons, l)
	}
	return lessons, nil
}

var orderPrefix = regexp.MustCompile(`^[0-9]+-`)

// lessonID turns "03-why-containers.md" into "why-containers".
func lessonID(file string) string {
	return orderPrefix.ReplaceAllString(strings.TrimSuffix(file, ".md"), "")
}

var (
	stepHeading = regexp.MustCompile(`^## ([a-z0-9][a-z0-9-]*): (\S.*)$`)
	kbd         = regexp.MustCompile(`<kbd>([^<]+)</kbd>`)
	codeSpan    = regexp.MustCompile("`([^`]+)`")
)

// parse reads one lesson file; see the package comment for the format.
func parse(id, text string) (Lesson, error) {
	l := Lesson{ID: id}
	var (
		summary, body, try []string
		cur                *Step
		inTry, inFence     bool
	)
	flush := func() {
		if cur == nil {
			return
		}
		cur.Body = clean(body)
		cur.TryIt = clean(try)
		cur.Commands = commands(cur.Body + "\n" + cur.TryIt)
		cur.Keys = keys(strings.Join(body, "\n") + "\n" + strings.Join(try, "\n"))
		l.Steps = append(l.Steps, *cur)
		body, try, inTry = nil, nil, false
	}
	seen := map[string]bool{}
	for n, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		lineNo := n + 1
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
		}
		switch {
		case inFence || !strings.HasPrefix(line, "#"):
			// Ordinary text (a fence's own ``` line lands here too).
		case strings.HasPrefix(line, "# "):
			if l.Title != "" {
				return Lesson{}, fmt.Errorf("line %d: a second lesson title", lineNo)
			}
			if cur != nil || len(summary) > 0 && strings.TrimSpace(strings.Join(summary, "")) != "" {
				return Lesson{}, fmt.Errorf("line %d: the title must come first", lineNo)
			}
			l.Title = strings.TrimSpace(line[2:])
			continue
		case strings.HasPrefix(line, "## "):
			m := stepHeading.FindStringSubmatch(line)
			if m == nil {
				return Lesson{}, fmt.Errorf("line %d: step heading %q is not \"## step-id: Title\"", lineNo, line)
			}
			if seen[m[1]] {
				return Lesson{}, fmt.Errorf("line %d: step %q appears twice", lineNo, m[1])
			}
			seen[m[1]] = true
			flush()
			cur = &Step{ID: m[1], Title: strings.TrimSpace(m[2])}
			continue
		case strings.HasPrefix(line, "### "):
			h := strings.TrimSpace(line[4:])
			if !tryItHeadings[h] {
				return Lesson{}, fmt.Errorf("line %d: unknown heading %q (only a \"Try it\" heading may follow a step)", lineNo, h)
			}
			if cur == nil {
				return Lesson{}, fmt.Errorf("line %d: %q before the first step", lineNo, h)
			}
			if inTry {
				return Lesson{}, fmt.Errorf("line %d: step %q has two %q parts", lineNo, cur.ID, h)
			}
			inTry = true
			continue
		default:
			return Lesson{}, fmt.Errorf("line %d: unexpected heading %q", lineNo, line)
		}
		switch {
		case cur == nil:
			summary = append(summary, line)
		case inTry:
			try = append(try, line)
		default:
			body = append(body, line)
		}
	}
	if inFence {
		return Lesson{}, errors.New("a ``` fence is never closed")
	}
	flush()
	if l.Title == "" {
		return Lesson{}, errors.New("no \"# Title\" line")
	}
	if len(l.Steps) == 0 {
		return Lesson{}, errors.New("no \"## step-id: Title\" step")
	}
	l.Summary = clean(summary)
	return l, nil
}

// clean joins lines, trims blank edges and rewrites <kbd>x</kbd> to [x].
func clean(lines []string) string {
	s := strings.TrimSpace(strings.Join(lines, "\n"))
	return kbd.ReplaceAllString(s, "[$1]")
}

func commands(text string) []string {
	var out []string
	for _, m := range codeSpan.FindAllStringSubmatch(text, -1) {
		if c := strings.TrimSpace(m[1]); strings.HasPrefix(c, "twinboot ") {
			out = append(out, c)
		}
	}
	return out
}

func keys(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range kbd.FindAllStringSubmatch(text, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	return out
}

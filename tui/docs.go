package tui

import "github.com/twinboot/twinboot/docs"

// DocsLessons serves the lessons embedded in package docs.
func DocsLessons(lang string) ([]Lesson, error) {
	ls, err := docs.Lessons(lang)
	if err != nil {
		return nil, err
	}
	out := make([]Lesson, len(ls))
	for i, l := range ls {
		out[i] = Lesson{ID: l.ID, Title: l.Title}
		for _, s := range l.Steps {
			out[i].Steps = append(out[i].Steps, Step{ID: s.ID, Title: s.Title, Body: s.Body, TryIt: s.TryIt})
		}
	}
	return out, nil
}

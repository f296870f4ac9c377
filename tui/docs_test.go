package tui

import (
	"slices"
	"testing"

	"github.com/twinboot/twinboot/docs"
)

// Every key a lesson tells the student to press is one the lab answers to.
// (docs keeps its own copy of the list, since it cannot import tui; this is
// the same check from the lab's side, against the real key map.)
func TestLessonKeysExist(t *testing.T) {
	keys := Keys()
	for _, lang := range docs.Languages() {
		lessons, err := docs.Lessons(lang)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lessons {
			for _, s := range l.Steps {
				for _, k := range s.Keys {
					if !slices.Contains(keys, k) {
						t.Errorf("%s/%s#%s: key %q is not a lab key %q", lang, l.ID, s.ID, k, keys)
					}
				}
			}
		}
	}
}

package tui

import "fmt"

// lessonsState is the lessons panel: which language, which lesson and step.
type lessonsState struct {
	source  LessonSource
	lang    string
	lessons []Lesson
	li, si  int // lesson and step index
	scroll  int // first body line shown
	err     string
	open    bool
	// en is the English course, whatever language is shown: the screen
	// targets of a step are read from its English text.
	en      []Lesson
	targets target
}

func newLessons(src LessonSource, lang string) lessonsState {
	l := lessonsState{source: src, lang: lang}
	if src != nil {
		l.en, _ = src("en")
	}
	l.load()
	l.aim()
	return l
}

// aim recomputes which parts of the screen the current step points at.
func (l *lessonsState) aim() {
	l.targets = 0
	st, ok := l.step()
	if !ok {
		return
	}
	lessonID := l.lessons[l.li].ID
	for _, ls := range l.en {
		if ls.ID != lessonID {
			continue
		}
		for _, es := range ls.Steps {
			if es.ID == st.ID {
				l.targets = targetsOf(es)
				return
			}
		}
	}
	l.targets = targetsOf(st) // a step with no English twin: its own words
}

// load reads the lessons of l.lang. The docs are embedded in the binary, so
// this is memory work, not I/O; it still happens only on a key press, never
// in View.
func (l *lessonsState) load() {
	l.lessons, l.err = nil, ""
	if l.source == nil {
		l.err = "no lessons in this build"
		return
	}
	ls, err := l.source(l.lang)
	if err != nil {
		l.err = fmt.Sprintf("lessons (%s): %v", l.lang, err)
		return
	}
	l.lessons = ls
}

// switchLang flips between English and Korean and finds the same lesson and
// step by ID, so the reader stays where they were.
func (l *lessonsState) switchLang() {
	lessonID, stepID := "", ""
	if st, ok := l.step(); ok {
		lessonID, stepID = l.lessons[l.li].ID, st.ID
	}
	if l.lang == "ko" {
		l.lang = "en"
	} else {
		l.lang = "ko"
	}
	l.load()
	l.li, l.si, l.scroll = 0, 0, 0
	for i, ls := range l.lessons {
		if ls.ID != lessonID {
			continue
		}
		l.li = i
		for j, st := range ls.Steps {
			if st.ID == stepID {
				l.si = j
			}
		}
	}
	l.aim()
}

// move goes delta steps forward or back, across lesson boundaries.
func (l *lessonsState) move(delta int) {
	if len(l.lessons) == 0 {
		return
	}
	l.si += delta
	l.scroll = 0
	for l.si < 0 && l.li > 0 {
		l.li--
		l.si += len(l.lessons[l.li].Steps)
	}
	for l.li < len(l.lessons) && l.si >= len(l.lessons[l.li].Steps) && l.li < len(l.lessons)-1 {
		l.si -= len(l.lessons[l.li].Steps)
		l.li++
	}
	if l.si < 0 {
		l.si = 0
	}
	if n := len(l.lessons[l.li].Steps); l.si >= n {
		l.si = max(n-1, 0)
	}
	l.aim()
}

func (l *lessonsState) step() (Step, bool) {
	if l.li >= len(l.lessons) || l.si >= len(l.lessons[l.li].Steps) {
		return Step{}, false
	}
	return l.lessons[l.li].Steps[l.si], true
}

// position is "lesson 2/7 · step 1/3", for the panel's title.
func (l *lessonsState) position() string {
	if len(l.lessons) == 0 {
		return ""
	}
	return fmt.Sprintf("lesson %d/%d · step %d/%d", l.li+1, len(l.lessons), l.si+1, len(l.lessons[l.li].Steps))
}

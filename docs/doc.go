// Package docs holds twinboot's lessons, in English and Korean, embedded in
// the binary so that `twinboot lab` needs no files beside it.
//
// # API
//
//	langs := docs.Languages()             // ["en", "ko"]
//	lessons, err := docs.Lessons("ko")    // in course order
//	step := lessons[0].Steps[0]           // step.ID is the same in every language
//
// A reader that switches language keeps its place by looking up the same
// lesson ID and step ID in the other language: the tests guarantee that both
// languages have the same lessons and steps, in the same order, with the same
// "Try it" commands and keys.
//
// # File format
//
// Lessons live in lessons/<lang>/NN-<id>.md. NN orders the course; <id> is the
// lesson ID. A file is ordinary Markdown with three conventions:
//
//	# Lesson title                      first line; exactly one per file
//	A short summary paragraph.          optional, before the first step
//
//	## step-id: Step title              starts a step; id is [a-z0-9-]+
//	Body text.
//
//	### Try it                          starts the step's "Try it" part
//	Run `twinboot vm --mem 64M` and press <kbd>r</kbd>.
//
// The "Try it" heading is "Try it" in English and "해 보기" in Korean; any
// other level-3 heading is an error, so a typo cannot silently merge the
// "Try it" text into the body. Lines inside ``` fences are never headings.
//
// Body and TryIt are returned as Markdown text with two changes that make them
// readable in a terminal: <kbd>x</kbd> becomes [x], and nothing else is
// touched. The keys are also collected in Step.Keys, and every inline code span
// that starts with "twinboot " is collected in Step.Commands, so that tools (and
// the tests) can check that each quoted command and key really exists.
package docs

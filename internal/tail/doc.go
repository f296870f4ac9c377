// Package tail keeps the last lines of some output (a console, a child's
// stderr) for error messages: the one helper for "what did it say last".
package tail

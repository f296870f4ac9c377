// Package observe reads what the probe reports about the world it runs in.
//
// Everything that comes from a file is read through an fs.FS rooted at the
// probe's "/", so tests can hand it fixture trees of /proc and /sys, including
// missing and malformed files. A field the probe cannot read is left absent in
// the report and the reason is recorded under the field's JSON name in
// Report.Errors; nothing here panics on odd input.
package observe

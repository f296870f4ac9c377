// Package testutil holds helpers shared by twinboot's tests.
package testutil

//go:build !linux

package container

import (
	"context"
	"errors"
)

// ErrNotLinux: namespaces, cgroups and pivot_root are Linux's.
var ErrNotLinux = errors.New("the container runtime needs Linux (namespaces, cgroups, pivot_root)")

// Run fails at once on systems other than Linux.
func Run(ctx context.Context, s Spec) (Result, error) { return Result{}, ErrNotLinux }

// CleanupStale has nothing to clean on systems other than Linux.
func CleanupStale() error { return nil }

// CleanupStaleRuns removes nothing where there are no containers.
func CleanupStaleRuns() ([]string, error) { return nil, nil }

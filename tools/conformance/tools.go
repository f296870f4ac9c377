//go:build tools

// Package conformance pins the OCI runtime conformance suite
// (opencontainers/runtime-tools) and its dependencies. It is a module of its
// own so that none of them enters twinboot's go.mod; see run.sh.
package conformance

import (
	_ "github.com/opencontainers/runtime-tools/cmd/runtimetest"
	_ "github.com/opencontainers/runtime-tools/validation/util"
)

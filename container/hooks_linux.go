package container

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The runtime-spec's hooks: programs the runtime runs at fixed points of the
// lifecycle, each with the container's state as JSON on its standard input.
//
//   - prestart (deprecated) and createRuntime: during create, once the
//     namespaces exist, before the workload can run; in the runtime's
//     namespaces. A failure fails the create, and the container is
//     destroyed (Create cleans up).
//   - poststart: after start has released the workload. A failure is
//     logged and the lifecycle goes on.
//   - poststop: after delete has removed the container. Likewise logged.
//
// createContainer and startContainer, which run inside the container's
// namespaces, are not implemented and are refused (unsupported.go).

// defaultHookTimeout bounds a hook that gives no timeout of its own: a hook
// that hangs must not wedge the lifecycle.
const defaultHookTimeout = 60 * time.Second

// runHooks runs hooks in order and stops at the first failure.
func runHooks(kind string, hooks []specs.Hook, st specs.State) error {
	if len(hooks) == 0 {
		return nil
	}
	in, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode state for %s hooks: %w", kind, err)
	}
	for i, h := range hooks {
		if err := runHook(h, in); err != nil {
			return fmt.Errorf("%w: %s hook %d (%s): %v", ErrHookFailed, kind, i, h.Path, err)
		}
	}
	return nil
}

// warnHooks runs hooks whose failure the spec says to log: every hook runs,
// and each failure is one line on log.
func warnHooks(log io.Writer, kind string, hooks []specs.Hook, st specs.State) {
	if log == nil {
		log = os.Stderr
	}
	in, err := json.Marshal(st)
	if err != nil {
		fmt.Fprintf(log, "warning: encode state for %s hooks: %v\n", kind, err)
		return
	}
	for i, h := range hooks {
		if err := runHook(h, in); err != nil {
			fmt.Fprintf(log, "warning: %s hook %d (%s) failed: %v\n", kind, i, h.Path, err)
		}
	}
}

func runHook(h specs.Hook, state []byte) error {
	timeout := defaultHookTimeout
	if h.Timeout != nil {
		if *h.Timeout <= 0 {
			return fmt.Errorf("timeout %d: must be greater than zero", *h.Timeout)
		}
		timeout = time.Duration(*h.Timeout) * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := h.Args
	if len(args) == 0 {
		args = []string{h.Path}
	}
	var stderr bytes.Buffer
	cmd := &exec.Cmd{
		Path:   h.Path,
		Args:   args,
		Env:    h.Env,
		Stdin:  bytes.NewReader(state),
		Stderr: &stderr,
		// A hook that leaves a child holding its stderr must not hold up
		// the lifecycle.
		WaitDelay: time.Second,
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			if msg := strings.TrimSpace(stderr.String()); msg != "" {
				return fmt.Errorf("%v: %s", err, oneLine(msg))
			}
			return err
		}
		return nil
	case <-ctx.Done():
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("timed out after %v", timeout)
	}
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

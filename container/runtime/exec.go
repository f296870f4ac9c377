package runtime

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/twinboot/twinboot/container"
)

var execFlags = []flagDef{
	{names: []string{"env", "e"}, many: true, help: "add KEY=VALUE to the environment (repeatable)"},
	{names: []string{"cwd"}, help: "working directory inside the container"},
	{names: []string{"user", "u"}, help: "UID[:GID] to run as (default: the config's)"},
	{names: []string{"detach", "d"}, boolean: true, help: "return once the process has started"},
	{names: []string{"pid-file"}, help: "write the process's PID to this file"},
	{names: []string{"tty", "t"}, boolean: true, help: "only false: no terminal is allocated"},
}

// runExec runs a process in a running container and, unless --detach,
// waits for it and exits with its status.
func runExec(c *cli, fs *flagSet) error {
	if len(fs.args) < 2 {
		return fmt.Errorf("%w: exec: want ID and a command", errUsage)
	}
	if fs.bool("tty") {
		return fmt.Errorf("exec: --tty: terminals are not supported")
	}
	id, args := fs.args[0], fs.args[1:]
	if args[0] == "--" {
		args = args[1:]
	}
	ct, err := container.Load(c.root, id)
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	o := container.ExecOptions{
		Args:   args,
		Env:    fs.all("env"),
		Cwd:    fs.str("cwd"),
		Stdin:  asFile(c.stdin),
		Stdout: asFile(c.stdout),
		Stderr: asFile(c.stderr),
		Detach: fs.bool("detach"),
	}
	if u := fs.str("user"); u != "" {
		user, err := parseUser(u)
		if err != nil {
			return fmt.Errorf("%w: exec: %v", errUsage, err)
		}
		o.User = user
	}
	cmd, err := ct.Exec(o)
	if err != nil {
		return fmt.Errorf("exec %s: %w", id, err)
	}
	if p := fs.str("pid-file"); p != "" {
		if err := os.WriteFile(p, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
			return fmt.Errorf("exec: write pid file: %w", err)
		}
	}
	if o.Detach {
		return nil
	}
	cmd.Wait()
	ps := cmd.ProcessState
	if ps == nil {
		return fmt.Errorf("exec %s: the process could not be waited for", id)
	}
	ws := ps.Sys().(syscall.WaitStatus)
	switch {
	case ws.Signaled():
		return exitStatus(128 + int(ws.Signal()))
	case ws.ExitStatus() != 0:
		return exitStatus(ws.ExitStatus())
	}
	return nil
}

// parseUser reads UID[:GID] (numbers only: names would need the container's
// /etc/passwd, which process.user.username is refused for too).
func parseUser(s string) (*specs.User, error) {
	us, gs, hasG := strings.Cut(s, ":")
	uid, err := strconv.ParseUint(us, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("--user %q: want UID[:GID] as numbers", s)
	}
	u := &specs.User{UID: uint32(uid)}
	if hasG {
		gid, err := strconv.ParseUint(gs, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--user %q: want UID[:GID] as numbers", s)
		}
		u.GID = uint32(gid)
	}
	return u, nil
}

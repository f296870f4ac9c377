package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"text/tabwriter"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/container"
)

var createFlags = []flagDef{
	{names: []string{"bundle", "b"}, help: "bundle directory (default: the working directory)"},
	{names: []string{"pid-file"}, help: "write the container init's PID to this file"},
	{names: []string{"console-socket"}, help: "accepted for a process without a terminal (then unused, as in runc)"},
	{names: []string{"no-pivot"}, boolean: true, help: "accepted: the root is moved where pivot_root is impossible"},
	{names: []string{"no-new-keyring"}, boolean: true, help: "accepted: no session keyring is created anyway"},
	{names: []string{"preserve-fds"}, help: "only 0: passing extra descriptors is not supported"},
}

func init() {
	verbs = []*verb{
		{name: "create", args: "[flags] ID", short: "create a container from a bundle, its process waiting for start", flags: createFlags, run: runCreate},
		{name: "start", args: "ID", short: "start the process of a created container", run: runStart},
		{name: "state", args: "ID", short: "print the state of a container (runtime-spec JSON)", run: runState},
		{name: "kill", args: "[--all] ID [SIGNAL]", short: "send a signal (default TERM) to a container's init",
			flags: []flagDef{{names: []string{"all", "a"}, boolean: true, help: "signal every process of the container"}}, run: runKill},
		{name: "delete", args: "[--force] ID", short: "remove a stopped container",
			flags: []flagDef{{names: []string{"force", "f"}, boolean: true, help: "kill the container first if it still runs"}}, run: runDelete},
		{name: "list", args: "[--format table|json] [--quiet]", short: "list containers",
			flags: []flagDef{
				{names: []string{"format", "f"}, help: "table or json"},
				{names: []string{"quiet", "q"}, boolean: true, help: "print the IDs only"},
			}, run: runList},
		{name: "run", args: "[flags] ID", short: "create and start a container, wait for it, delete it",
			flags: append(append([]flagDef(nil), createFlags...),
				flagDef{names: []string{"detach", "d"}, boolean: true, help: "return once started (no wait, no delete)"},
				flagDef{names: []string{"keep"}, boolean: true, help: "do not delete the container after it exits"},
			), run: runRun},
		{name: "exec", args: "[flags] ID [--] CMD [ARGS]", short: "run a process in a running container", flags: execFlags, run: runExec},
	}
}

func (c *cli) createOptions(fs *flagSet, id string) (container.CreateOptions, error) {
	if n := fs.str("preserve-fds"); n != "" && n != "0" {
		return container.CreateOptions{}, fmt.Errorf("%s: --preserve-fds %s: passing extra descriptors to the container is not supported", c.verb, n)
	}
	return container.CreateOptions{
		Root:    c.root,
		ID:      id,
		Bundle:  fs.str("bundle"),
		PidFile: fs.str("pid-file"),
		Stdin:   asFile(c.stdin),
		Stdout:  asFile(c.stdout),
		Stderr:  asFile(c.stderr),
		HookLog: c.stderr,
	}, nil
}

func runCreate(c *cli, fs *flagSet) error {
	id, err := oneID("create", fs, 0)
	if err != nil {
		return err
	}
	o, err := c.createOptions(fs, id)
	if err != nil {
		return err
	}
	ct, err := container.Create(o)
	if err != nil {
		return fmt.Errorf("create %s: %w", id, err)
	}
	c.debugf("created %s, init pid %d", id, ct.Pid())
	return nil
}

func (c *cli) load(verb string, fs *flagSet, extra int) (*container.Container, error) {
	id, err := oneID(verb, fs, extra)
	if err != nil {
		return nil, err
	}
	ct, err := container.Load(c.root, id)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", verb, err)
	}
	return ct, nil
}

func runStart(c *cli, fs *flagSet) error {
	ct, err := c.load("start", fs, 0)
	if err != nil {
		return err
	}
	return ct.Start(c.stderr)
}

// stateJSON is runc's `state` output: the runtime-spec state and runc's
// extra fields.
type stateJSON struct {
	specs.State
	Rootfs  string    `json:"rootfs"`
	Created time.Time `json:"created"`
	Owner   string    `json:"owner"`
}

func stateOf(ct *container.Container) stateJSON {
	return stateJSON{State: ct.State(), Rootfs: ct.Rootfs(), Created: ct.Created(), Owner: "root"}
}

func runState(c *cli, fs *flagSet) error {
	ct, err := c.load("state", fs, 0)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(stateOf(ct), "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s\n", b)
	return err
}

func runKill(c *cli, fs *flagSet) error {
	ct, err := c.load("kill", fs, 1)
	if err != nil {
		return err
	}
	sig := unix.SIGTERM
	if len(fs.args) == 2 {
		if sig, err = parseSignal(fs.args[1]); err != nil {
			return fmt.Errorf("%w: kill: %v", errUsage, err)
		}
	}
	if fs.bool("all") {
		return ct.SignalAll(sig)
	}
	return ct.Signal(sig)
}

func runDelete(c *cli, fs *flagSet) error {
	ct, err := c.load("delete", fs, 0)
	if err != nil {
		return err
	}
	return ct.Delete(fs.bool("force"), c.stderr)
}

func runList(c *cli, fs *flagSet) error {
	if len(fs.args) > 0 {
		return fmt.Errorf("%w: list takes no arguments", errUsage)
	}
	all, err := container.List(c.root)
	if err != nil {
		return err
	}
	if fs.bool("quiet") {
		for _, ct := range all {
			fmt.Fprintln(c.stdout, ct.ID())
		}
		return nil
	}
	switch f := fs.str("format"); f {
	case "json":
		out := make([]stateJSON, 0, len(all))
		for _, ct := range all {
			out = append(out, stateOf(ct))
		}
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.stdout, "%s\n", b)
		return err
	case "", "table":
		tw := tabwriter.NewWriter(c.stdout, 8, 8, 1, ' ', 0)
		fmt.Fprintln(tw, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER")
		for _, ct := range all {
			s := stateOf(ct)
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
		}
		return tw.Flush()
	default:
		return fmt.Errorf("%w: list --format %q: want table or json", errUsage, f)
	}
}

// runRun is create, start, then (unless --detach) wait and delete. The
// signals this process gets while it waits are passed on to the container.
func runRun(c *cli, fs *flagSet) error {
	id, err := oneID("run", fs, 0)
	if err != nil {
		return err
	}
	o, err := c.createOptions(fs, id)
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 8)
	if !fs.bool("detach") {
		signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2)
		defer signal.Stop(sigs)
	}
	ct, err := container.Create(o)
	if err != nil {
		return fmt.Errorf("run %s: %w", id, err)
	}
	if err := ct.Start(c.stderr); err != nil {
		return errors.Join(fmt.Errorf("run %s: %w", id, err), ct.Delete(true, c.stderr))
	}
	if fs.bool("detach") {
		return nil
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				ct.Signal(s.(unix.Signal))
			case <-done:
				return
			}
		}
	}()
	ws, err := ct.Wait()
	close(done)
	if !fs.bool("keep") {
		if derr := ct.Delete(true, c.stderr); derr != nil {
			err = errors.Join(err, derr)
		}
	}
	if err != nil {
		return fmt.Errorf("run %s: %w", id, err)
	}
	switch {
	case ws.Signaled():
		return exitStatus(128 + int(ws.Signal()))
	case ws.ExitStatus() != 0:
		return exitStatus(ws.ExitStatus())
	}
	return nil
}

func specVersion() string { return specs.Version }

package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/internal/owner"
)

// StateRoot holds one directory per running container: its record and its
// overlay's upper and work directories. It lives on the host so that a run
// whose parent was SIGKILLed can still be found and cleaned by the next one.
var StateRoot = "/run/twinboot/ct"

// state is what a run has put on the host. The init's mounts are not in it:
// they live only in the container's mount namespace and vanish with its last
// process. Processes cannot outlive the run either: the init dies with its
// parent (Pdeathsig) and takes its PID namespace with it. What can be left
// behind is files and cgroup directories, and that is what state records.
type state struct {
	ID         string   `json:"id"`
	OwnerPID   int      `json:"owner_pid"`
	OwnerStart uint64   `json:"owner_start"` // start time of the owner, to tell a recycled PID
	Cgroups    []string `json:"cgroups,omitempty"`
	Mounts     []string `json:"mounts,omitempty"` // host mount points (see mountHostOverlay)

	// The OCI lifecycle's record (lifecycle_linux.go); empty for a Run.
	// Owner is then the `create` process, which may exit: the container is
	// its init, named by Pid and PidStart.
	OCI *ociRecord `json:"oci,omitempty"`

	dir string
}

// newID names a run. It only has to be unique among the runs alive on this
// machine, not secret, so it comes from math/rand (seeded by the runtime)
// and not crypto/rand: on a freshly booted machine, such as the nested-mode
// lab machine, getrandom(2) blocks until the kernel's entropy pool is ready,
// and the first container there waited about a second for its name.
func newID() string {
	return fmt.Sprintf("%012x", rand.Uint64()&(1<<48-1))
}

// newState creates the run's directory.
func newState(id string) (*state, error) { return newStateIn(StateRoot, id) }

// newStateIn creates a run's directory under root. An existing one is an
// error that matches fs.ErrExist.
func newStateIn(root, id string) (*state, error) {
	if err := os.MkdirAll(root, 0o711); err != nil {
		return nil, fmt.Errorf("create state root: %w", err)
	}
	pid, start, err := owner.Self()
	if err != nil {
		return nil, err
	}
	st := &state{ID: id, OwnerPID: pid, OwnerStart: start, dir: filepath.Join(root, id)}
	// The record is written first by recordCgroups, before anything that
	// needs cleaning exists; until then the directory alone is "abandoned"
	// for CleanupStale after a minute.
	if err := os.Mkdir(st.dir, 0o711); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	return st, nil
}

func (st *state) save() error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	tmp := filepath.Join(st.dir, "state.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(st.dir, "state.json")); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// recordCgroups saves the cgroup directories before they are created, so
// that a kill at any later moment leaves a record that names them.
func (st *state) recordCgroups(dirs []string) error {
	st.Cgroups = dirs
	return st.save()
}

func (st *state) recordMounts(points []string) error {
	st.Mounts = points
	return st.save()
}

// remove deletes what the run left: host mounts first (RemoveAll would
// otherwise walk into them), cgroups next (they may still hold processes),
// then the directory.
func (st *state) remove() error {
	err := detachMounts(st.Mounts)
	err = errors.Join(err, removeCgroupDirs(st.Cgroups))
	if rmErr := os.RemoveAll(st.dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("remove state dir: %w", rmErr))
	}
	return err
}

// CleanupStale removes what earlier runs left when their parent process was
// killed before it could clean up. Runs whose owner is alive are left alone,
// so it is safe while other containers run. Run calls it before each start.
func CleanupStale() error {
	_, err := CleanupStaleRuns()
	return err
}

// CleanupStaleRuns is CleanupStale, saying which runs it removed (their
// IDs): every twinboot command calls it first, and doctor reports it, so
// that what a killed run left never waits for the next container.
func CleanupStaleRuns() ([]string, error) {
	entries, err := os.ReadDir(StateRoot)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", StateRoot, err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(StateRoot, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, "state.json"))
		var st state
		if err == nil {
			err = json.Unmarshal(b, &st)
		}
		if err != nil && !abandoned(dir) {
			// No readable record yet: a run between its mkdir and its
			// first save. Leave it, unless it has been so for long.
			continue
		}
		if err == nil && owner.Alive(st.OwnerPID, st.OwnerStart) {
			continue
		}
		// Claim the entry by renaming it, so that two cleaners never work
		// on the same one.
		claimed := filepath.Join(StateRoot, ".stale-"+e.Name()+"-"+strconv.Itoa(os.Getpid()))
		if os.Rename(dir, claimed) != nil {
			continue
		}
		st.dir = claimed
		if err := st.remove(); err != nil {
			errs = append(errs, fmt.Errorf("clean stale container %s: %w", st.ID, err))
			continue
		}
		id := st.ID
		if id == "" {
			id = e.Name()
		}
		removed = append(removed, id)
	}
	return removed, errors.Join(errs...)
}

// abandoned reports whether a state directory without a readable record is
// old enough that no run can still be about to write it.
func abandoned(dir string) bool {
	st, err := os.Stat(dir)
	return err == nil && time.Since(st.ModTime()) > time.Minute
}

// chownTree gives the overlay directories to the user namespace's root, who
// must be able to write them.
func chownTree(uid, gid int, dirs ...string) error {
	for _, d := range dirs {
		if err := unix.Chown(d, uid, gid); err != nil {
			return fmt.Errorf("chown %s: %w", d, err)
		}
	}
	return nil
}

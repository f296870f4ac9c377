package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/internal/owner"
)

// StateRoot holds one directory per lab network: its record (state.json),
// the file its namespace is bound on (netns) and its address store (ipam/).
var StateRoot = "/run/twinboot/net"

// record is what a lab network has put on the host. Everything it made
// lives inside its namespace, so the namespace's bind mount and this
// directory are all there is to remove.
type record struct {
	Name       string `json:"name"`
	OwnerPID   int    `json:"owner_pid"`
	OwnerStart uint64 `json:"owner_start"`
	Subnet     string `json:"subnet"`
	Netns      string `json:"netns"`
}

// seq numbers the networks of this process: twinboot-<pid>-<n>.
var seq atomic.Int64

func newName() string {
	return fmt.Sprintf("twinboot-%d-%d", os.Getpid(), seq.Add(1)-1)
}

func (r *record) dir() string { return filepath.Join(StateRoot, r.Name) }

func (r *record) save() error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode network record: %w", err)
	}
	tmp := filepath.Join(r.dir(), "state.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write network record: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(r.dir(), "state.json")); err != nil {
		return fmt.Errorf("write network record: %w", err)
	}
	return nil
}

// remove frees the namespace (and with it every link, address and route
// inside) and deletes the directory.
func (r *record) remove() error {
	var err error
	if r.Netns != "" {
		err = removeNetns(r.Netns)
	}
	if rmErr := os.RemoveAll(r.dir()); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("remove %s: %w", r.dir(), rmErr))
	}
	return err
}

// records reads every lab network's record. A directory without a
// readable record is returned with only its Name.
func records() ([]record, error) {
	entries, err := os.ReadDir(StateRoot)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", StateRoot, err)
	}
	var out []record
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		r := record{Name: e.Name()}
		if b, err := os.ReadFile(filepath.Join(StateRoot, e.Name(), "state.json")); err == nil {
			if json.Unmarshal(b, &r) != nil {
				r = record{Name: e.Name()}
			}
		}
		r.Name = e.Name()
		out = append(out, r)
	}
	return out, nil
}

// live reports whether the record's owner still runs. A record not yet
// written belongs to a network being made: its name carries the owner's
// PID, which is checked instead.
func (r *record) live() bool {
	if r.OwnerPID != 0 {
		return owner.Alive(r.OwnerPID, r.OwnerStart)
	}
	f := strings.Split(r.Name, "-")
	if len(f) != 3 {
		return false
	}
	pid, err := strconv.Atoi(f[1])
	return err == nil && pid > 0 && unix.Kill(pid, 0) == nil
}

// CleanupStale removes the lab networks whose owner is dead (a twinboot
// killed with SIGKILL mid-run), and returns their names. Networks of live
// runs are left alone, so it is safe while other runs go on; every
// twinboot command calls it first.
func CleanupStale() ([]string, error) {
	unlock, err := lockRoot()
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	defer unlock()
	recs, err := records()
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, r := range recs {
		if r.live() {
			continue
		}
		if r.Netns == "" {
			r.Netns = filepath.Join(r.dir(), "netns")
		}
		if err := r.remove(); err != nil {
			errs = append(errs, fmt.Errorf("clean stale network %s: %w", r.Name, err))
			continue
		}
		removed = append(removed, r.Name)
	}
	return removed, errors.Join(errs...)
}

// lockRoot takes the lock that orders choosing a subnet, writing a record
// and cleaning up, across processes: two runs at once never pick the same
// subnet. With create unset, a missing StateRoot is os.ErrNotExist.
func lockRoot() (unlock func(), err error) {
	return lockRootOpt(false)
}

func lockRootOpt(create bool) (func(), error) {
	if create {
		if err := os.MkdirAll(StateRoot, 0o711); err != nil {
			return nil, fmt.Errorf("create %s: %w", StateRoot, err)
		}
	}
	f, err := os.OpenFile(filepath.Join(StateRoot, ".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		if _, serr := os.Stat(StateRoot); errors.Is(serr, os.ErrNotExist) {
			return nil, os.ErrNotExist
		}
		return nil, fmt.Errorf("lock %s: %w", StateRoot, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", StateRoot, err)
	}
	return func() { f.Close() }, nil
}

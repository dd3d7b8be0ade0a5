// Package state keeps what PocketIDP knows about one install in a single
// versioned JSON file: the install id, the options used, per-step status and
// every object the install created. Writes are atomic (temp file + rename) and
// a lock file keeps two runs off the same install.
package state

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
	"github.com/google/renameio/v2"

	"github.com/pocketidp/pocketidp/internal/config"
)

// Version is the state file format this binary writes. A file with a higher
// version was written by a newer PocketIDP and is never overwritten.
const Version = 1

const (
	fileName = "state.json"
	lockName = "state.lock"
)

// Step statuses as the engine records them (bootstrap uses these names).
const (
	StepDone        = "done"
	StepFailed      = "failed"
	StepInterrupted = "interrupted"
	StepUndone      = "undone"
)

// File is the content of the state file.
type File struct {
	Version   int                   `json:"version"`
	InstallID string                `json:"install_id"`
	CreatedAt time.Time             `json:"created_at"`
	UpdatedAt time.Time             `json:"updated_at"`
	Options   config.Options        `json:"options"`
	Steps     map[string]StepRecord `json:"steps,omitempty"`
	// Objects lists everything this install created, so that `down` removes
	// exactly that and a 409 can be told apart from someone else's object.
	Objects []Object `json:"objects,omitempty"`
	// Values are facts a step learned and a later run needs (the commit
	// Backstage arrived at, a token fingerprint, ...), keyed by owner/name.
	Values map[string]string `json:"values,omitempty"`
}

// StepRecord is the last outcome of one step.
type StepRecord struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
	Error  string    `json:"error,omitempty"`
}

// Object is something this install created outside the state dir.
type Object struct {
	Kind      string    `json:"kind"` // e.g. "humanitec/app", "gitea/org"
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
}

// Store is an open, locked state file.
type Store struct {
	dir  string
	lock *flock.Flock

	mu sync.Mutex
	f  File

	// beforeRename is called between writing the temp file and renaming it;
	// tests use it to stand for a crash at the worst moment.
	beforeRename func() error
}

// LockedError says another run holds the install.
type LockedError struct {
	Dir string
	PID int
}

func (e *LockedError) Error() string {
	who := "another pocketidp"
	if e.PID > 0 {
		who = fmt.Sprintf("another pocketidp (PID %d)", e.PID)
	}
	return fmt.Sprintf("%s is working on the install in %s: wait for it to finish or stop it, then run again", who, e.Dir)
}

// Open locks the install in dir and loads its state, or starts a new one with
// a fresh install id. It fails when another run holds the lock, or when the
// file is corrupt or from a newer version; it never overwrites such a file.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir %s: %w", dir, err)
	}
	lk := flock.New(filepath.Join(dir, lockName))
	ok, err := lk.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", lk.Path(), err)
	}
	if !ok {
		return nil, &LockedError{Dir: dir, PID: readPID(lk.Path())}
	}
	// The PID lets the loser of a race name the winner. flock is released by
	// the kernel when the process dies, so a stale PID is harmless.
	if err := os.WriteFile(lk.Path(), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		_ = lk.Unlock()
		return nil, fmt.Errorf("write lock %s: %w", lk.Path(), err)
	}
	s := &Store{dir: dir, lock: lk}
	f, err := Read(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		id, err := NewInstallID()
		if err != nil {
			_ = lk.Unlock()
			return nil, err
		}
		now := time.Now().UTC()
		s.f = File{Version: Version, InstallID: id, CreatedAt: now}
	case err != nil:
		_ = lk.Unlock()
		return nil, err
	default:
		s.f = *f
	}
	return s, nil
}

// Read loads the state in dir without locking it, for read-only commands
// such as `status`. A missing file wraps os.ErrNotExist.
func Read(dir string) (*File, error) {
	path := filepath.Join(dir, fileName)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, &config.InputError{
			Msg:  fmt.Sprintf("state file %s is corrupt: %v", path, err),
			Hint: "move it aside (nothing was changed); the next run starts a new install",
		}
	}
	if f.Version > Version {
		return nil, &config.InputError{
			Msg:  fmt.Sprintf("state file %s has version %d, newer than this pocketidp understands (%d)", path, f.Version, Version),
			Hint: "use the newer pocketidp that wrote it",
		}
	}
	if f.Version < 1 || len(f.InstallID) != 4 {
		return nil, &config.InputError{
			Msg:  fmt.Sprintf("state file %s has no valid version or install id", path),
			Hint: "move it aside (nothing was changed); the next run starts a new install",
		}
	}
	return &f, nil
}

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// NewInstallID returns 4 random lowercase letters.
func NewInstallID() (string, error) {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 4)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(letters))))
		if err != nil {
			return "", fmt.Errorf("make install id: %w", err)
		}
		b[i] = letters[n.Int64()]
	}
	return string(b), nil
}

// Dir is the folder that holds the state.
func (s *Store) Dir() string { return s.dir }

// Path is the state file.
func (s *Store) Path() string { return filepath.Join(s.dir, fileName) }

// InstallID is the install's stable random id.
func (s *Store) InstallID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f.InstallID
}

// Snapshot returns a copy of the state.
func (s *Store) Snapshot() File {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f.clone()
}

// Update changes the state and saves it at once. fn must not keep f.
func (s *Store) Update(fn func(f *File)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.f.clone()
	fn(&next)
	next.UpdatedAt = time.Now().UTC()
	if err := s.write(next); err != nil {
		return err
	}
	s.f = next
	return nil
}

// Save writes the state as it is.
func (s *Store) Save() error { return s.Update(func(*File) {}) }

// StepDone reports whether the step finished in an earlier run.
func (s *Store) StepDone(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f.Steps[name].Status == StepDone
}

// SetStep records a step's outcome.
func (s *Store) SetStep(name, status, errMsg string) error {
	return s.Update(func(f *File) {
		if f.Steps == nil {
			f.Steps = map[string]StepRecord{}
		}
		f.Steps[name] = StepRecord{Status: status, At: time.Now().UTC(), Error: errMsg}
	})
}

// AddObject records that the install created kind/id (once).
func (s *Store) AddObject(kind, id string) error {
	return s.Update(func(f *File) {
		if !f.HasObject(kind, id) {
			f.Objects = append(f.Objects, Object{Kind: kind, ID: id, CreatedAt: time.Now().UTC()})
		}
	})
}

// RemoveObject forgets kind/id after it was deleted.
func (s *Store) RemoveObject(kind, id string) error {
	return s.Update(func(f *File) {
		f.Objects = slices.DeleteFunc(f.Objects, func(o Object) bool { return o.Kind == kind && o.ID == id })
	})
}

// HasObject reports whether the install created kind/id.
func (s *Store) HasObject(kind, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f.HasObject(kind, id)
}

// SetValue records a fact under key; an empty value deletes it.
func (s *Store) SetValue(key, value string) error {
	return s.Update(func(f *File) {
		if value == "" {
			delete(f.Values, key)
			return
		}
		if f.Values == nil {
			f.Values = map[string]string{}
		}
		f.Values[key] = value
	})
}

// Value returns the fact recorded under key.
func (s *Store) Value(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f.Values[key]
}

// Remove deletes the state file at the end of `down`; the lock goes with Close.
func (s *Store) Remove() error {
	if err := os.Remove(s.Path()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove state: %w", err)
	}
	return nil
}

// Close releases the lock.
func (s *Store) Close() error { return s.lock.Unlock() }

// HasObject reports whether the file lists kind/id.
func (f *File) HasObject(kind, id string) bool {
	return slices.ContainsFunc(f.Objects, func(o Object) bool { return o.Kind == kind && o.ID == id })
}

func (f File) clone() File {
	c := f
	c.Steps = make(map[string]StepRecord, len(f.Steps))
	for k, v := range f.Steps {
		c.Steps[k] = v
	}
	c.Objects = slices.Clone(f.Objects)
	c.Values = make(map[string]string, len(f.Values))
	for k, v := range f.Values {
		c.Values[k] = v
	}
	return c
}

// write saves f atomically: a reader (or a crash) sees the old file or the
// new one, never a mix.
func (s *Store) write(f File) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	pf, err := renameio.NewPendingFile(s.Path(), renameio.WithStaticPermissions(0o600))
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	defer pf.Cleanup() // a no-op once replaced
	if _, err := pf.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if s.beforeRename != nil {
		if err := s.beforeRename(); err != nil {
			return err
		}
	}
	// Syncs the file, renames it over the old one, and syncs the dir.
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

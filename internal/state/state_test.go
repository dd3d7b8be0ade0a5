package state

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pocketidp/pocketidp/internal/config"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestNewInstallKeepsIDAndMode(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	id := s.InstallID()
	if !regexp.MustCompile(`^[a-z]{4}$`).MatchString(id) {
		t.Fatalf("install id %q is not 4 lowercase letters", id)
	}
	if err := s.AddObject("gitea/org", "5minorg"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddObject("gitea/org", "5minorg"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStep("cluster", StepDone, ""); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v, want 0600", fi.Mode().Perm())
	}
	s.Close()

	s2 := open(t, dir)
	if s2.InstallID() != id {
		t.Fatalf("install id changed: %q -> %q", id, s2.InstallID())
	}
	f := s2.Snapshot()
	if len(f.Objects) != 1 || !s2.HasObject("gitea/org", "5minorg") {
		t.Fatalf("objects = %+v, want one gitea/org", f.Objects)
	}
	if !s2.StepDone("cluster") || s2.StepDone("gitea") {
		t.Fatalf("steps = %+v", f.Steps)
	}
}

func TestAtomicWriteSurvivesCrashBeforeRename(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.SetValue("k", "old"); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(s.Path())

	crash := errors.New("crash")
	s.beforeRename = func() error { return crash }
	if err := s.SetValue("k", "new"); !errors.Is(err, crash) {
		t.Fatalf("SetValue = %v, want the crash", err)
	}
	// A real crash leaves the temp file behind; simulate that too.
	if err := os.WriteFile(filepath.Join(dir, fileName+".123.tmp"), []byte("{half"), 0o600); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(s.Path())
	if string(before) != string(after) {
		t.Fatal("state file changed although the rename never happened")
	}
	if s.Value("k") != "old" {
		t.Fatalf("in-memory state moved on to %q after a failed write", s.Value("k"))
	}
	s.Close()
	f, err := Read(dir)
	if err != nil || f.Values["k"] != "old" {
		t.Fatalf("Read = %+v, %v; want the old value", f, err)
	}
}

func TestLockContentionNamesPID(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	_, err := Open(dir)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Open = %v, want LockedError", err)
	}
	if le.PID != os.Getpid() || !strings.Contains(err.Error(), "PID") {
		t.Fatalf("error %q does not name PID %d", err, os.Getpid())
	}
}

func TestBadFilesAreNeverOverwritten(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"corrupt", `{"version": 1, "install_id": `, "corrupt"},
		{"newer", `{"version": 99, "install_id": "abcd"}`, "newer"},
		{"no id", `{"version": 1}`, "no valid version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, fileName)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !config.IsInput(err) {
				t.Fatalf("Open = %v, want an input error containing %q", err, tt.want)
			}
			b, _ := os.ReadFile(path)
			if string(b) != tt.content {
				t.Fatal("the bad file was overwritten")
			}
			// The failed Open must not keep the lock.
			s, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			if lk, _ := os.ReadFile(filepath.Join(dir, lockName)); len(lk) > 0 {
				s2, err := Open(dir)
				if err == nil {
					s2.Close()
				} else if errors.As(err, new(*LockedError)) {
					t.Fatal("lock still held after a failed Open")
				}
			}
		})
	}
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Read after Remove = %v", err)
	}
	if err := s.Remove(); err != nil {
		t.Fatalf("second Remove = %v", err)
	}
}

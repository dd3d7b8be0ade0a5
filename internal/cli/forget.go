package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/state"
)

// forgetHint is how the errors of a `down` that cannot reach what it would
// remove point at the way out.
const forgetHint = "if the install's cluster or Humanitec objects are gone or cannot be reached any more, " +
	"`pocketidp down --forget` forgets the install and touches nothing else"

// forget removes the install's local state alone (`down --forget`, or
// "Local state" picked alone): the state file, the CA and the agent key.
// Nothing outside the state dir is touched; what the state listed is named
// so the user can remove it by hand if it still exists.
func (a *app) forget(in *bootstrap.Install, store *state.Store) error {
	f := store.Snapshot()
	dir := store.Dir()
	for _, p := range []string{filepath.Join(dir, "tls"), filepath.Join(dir, humanitec.AgentKeyFile)} {
		if err := os.RemoveAll(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("forget the install: %w", err)
		}
	}
	if err := store.Remove(); err != nil {
		return err
	}
	if in.Options.Output != "text" {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Forgot install %s: its state, CA and keys in %s are removed.\n", f.InstallID, dir)
	if len(f.Objects) > 0 {
		b.WriteString("Nothing else was touched; if they still exist, these are no longer PocketIDP's to remove:\n")
		for _, o := range f.Objects {
			_, kind, _ := strings.Cut(o.Kind, "/")
			fmt.Fprintf(&b, "  %s %s (%s)\n", kind, o.ID, strings.SplitN(o.Kind, "/", 2)[0])
		}
	}
	_, err := fmt.Fprint(a.env.Stdout, a.redactor.Redact(b.String()))
	return err
}

// hinted adds a hint to an error, keeping what it wraps (the exit code
// and the failed step are read from there).
type hinted struct {
	error
	hint string
}

func (h hinted) Error() string { return h.error.Error() + "\n" + h.hint }
func (h hinted) Unwrap() error { return h.error }

// withForgetHint points a failed `down` at --forget.
func withForgetHint(err error) error {
	if err == nil {
		return nil
	}
	return hinted{err, forgetHint}
}

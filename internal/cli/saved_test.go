package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/doctor/doctortest"
	"github.com/pocketidp/pocketidp/internal/state"
)

// runAt runs the CLI on the state in stateDir, so runs can follow each
// other on one install.
func runAt(t *testing.T, stateDir string, env map[string]string, args ...string) result {
	t.Helper()
	args = append(args, "--state-dir", stateDir)
	if args[0] == "up" || args[0] == "down" {
		args = append(args, "--log-file", filepath.Join(t.TempDir(), "debug.log"))
	}
	var out, errb bytes.Buffer
	code := Run(context.Background(), Env{
		Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] }, Host: doctortest.Healthy(),
	})
	return result{code, out.String(), errb.String()}
}

// TestSavedOptionsDoNotTrap: a bad --kubeconfig is refused before it is
// saved; one saved by an earlier run is named when reused, with a hint that
// works; the doctor reports it; and `down --forget` gets out (issue 14,
// point 4).
func TestSavedOptionsDoNotTrap(t *testing.T) {
	stateDir := filepath.Join(t.TempDir(), "state")
	bad := filepath.Join(t.TempDir(), "no-such-kubeconfig")
	noHumanitec := map[string]string{}

	r := runAt(t, stateDir, noHumanitec, "up", "--yes", "--kubeconfig", bad)
	if r.code != ExitBadInput || !strings.Contains(r.stderr, "cannot be read") {
		t.Fatalf("up with a bad kubeconfig: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if _, err := state.Read(stateDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the bad kubeconfig was saved: %v", err)
	}

	// As an earlier version left it: the bad path saved.
	st, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	o := config.Defaults()
	o.Kubeconfig, o.SkipHumanitec = bad, true
	if err := st.Update(func(f *state.File) { f.Options = o }); err != nil {
		t.Fatal(err)
	}
	st.Close()

	r = runAt(t, stateDir, noHumanitec, "up", "--yes")
	for _, want := range []string{"using the options saved by the install", "--kubeconfig=" + bad, `--kubeconfig "" --context ""`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("up reusing the saved kubeconfig does not say %q:\n%s", want, r.stderr)
		}
	}
	if r.code != ExitBadInput {
		t.Errorf("up exit %d, want %d", r.code, ExitBadInput)
	}

	if r := runAt(t, stateDir, noHumanitec, "doctor"); r.code == ExitOK || !strings.Contains(r.stdout, "cannot be read") {
		t.Errorf("doctor with the saved bad kubeconfig: exit %d\n%s", r.code, r.stdout)
	}

	r = runAt(t, stateDir, noHumanitec, "down", "--yes")
	if r.code == ExitOK || !strings.Contains(r.stderr, "down --forget") {
		t.Errorf("down that cannot reach the cluster: exit %d, no way out named:\n%s", r.code, r.stderr)
	}
	// --forget is explicit and touches nothing outside the state dir: it
	// needs no --yes.
	r = runAt(t, stateDir, noHumanitec, "down", "--forget")
	if r.code != ExitOK || !strings.Contains(r.stdout, "Forgot install") {
		t.Fatalf("down --forget: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if _, err := state.Read(stateDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state after down --forget: %v", err)
	}
	// And a plain up now starts from the defaults: nothing saved is reused.
	if r := runAt(t, stateDir, noHumanitec, "doctor"); strings.Contains(r.stdout, bad) {
		t.Errorf("the forgotten kubeconfig is still used:\n%s", r.stdout)
	}
}

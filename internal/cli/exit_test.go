package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/doctor/doctortest"
	"github.com/pocketidp/pocketidp/internal/humanitec/humanitectest"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/tui"
)

// TestExitCodes: 2 for bad input with nothing created, 1 for a failed step
// (named, with the debug log's path), 130 when interrupted, each with a
// message that is true where it happened (issue 14, points 5, 6, 7, 8, 9).
func TestExitCodes(t *testing.T) {
	tests := []struct {
		name   string
		host   func() *doctortest.Host
		env    map[string]string
		args   []string
		code   int
		stderr []string
	}{
		{name: "unknown command", host: doctortest.Healthy, args: []string{"stauts"}, code: ExitBadInput,
			stderr: []string{`unknown command "stauts"`, "did you mean status?"}},
		{
			// Point 6: no Docker and no Humanitec variables: both at once.
			name: "every problem at once", host: func() *doctortest.Host { return doctortest.Healthy().DaemonDown() },
			env: map[string]string{"CODER": "true", "HUMANITEC_ORG": "my-org"}, args: []string{"up"}, code: ExitBadInput,
			stderr: []string{"2 problems to fix; nothing was created", "HUMANITEC_TOKEN is not set", "start the Docker daemon"},
		},
		{
			// Point 7: the daemon runs, the user is not in its group.
			name: "docker socket denied", host: func() *doctortest.Host { return doctortest.Healthy().SocketDenied() },
			env: humanitecEnv, args: []string{"up", "--yes"}, code: ExitBadInput,
			stderr: []string{"may not use its socket", "sudo usermod -aG docker $USER"},
		},
		{
			// Point 9: `pocketidp | less` does not install unasked.
			name: "bare without a terminal", host: doctortest.Healthy, env: humanitecEnv, args: []string{}, code: ExitBadInput,
			stderr: []string{"opens the setup wizard", "pocketidp up --yes", "nothing was created"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, stateDir := run(t, tt.host(), tt.env, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if _, err := os.Stat(filepath.Join(stateDir, "state.json")); tt.code == ExitBadInput && err == nil {
				t.Error("state.json was written although the input was bad")
			}
		})
	}
}

// TestStateDirErrorIsBadInput: a state dir that cannot be used is the
// user's to fix: exit 2 with the flag to change (issue 14, point 5).
func TestStateDirErrorIsBadInput(t *testing.T) {
	for _, args := range [][]string{{"status"}, {"up", "--yes"}, {"down", "--yes"}, {"doctor"}} {
		cmd := args[0]
		r := runAt(t, filepath.Join(os.Args[0], "state"), nil, args...)
		if r.code != ExitBadInput || !strings.Contains(r.stderr, "--state-dir") {
			t.Errorf("%s: exit %d, want %d naming --state-dir\nstderr: %s", cmd, r.code, ExitBadInput, r.stderr)
		}
	}
}

// TestWrongTokenBeforeState: a refused token stops `up` among the
// pre-flight checks: exit 2 and no state.json (issue 14, point 5).
func TestWrongTokenBeforeState(t *testing.T) {
	fake := humanitectest.New(t)
	env := map[string]string{"HUMANITEC_ORG": humanitectest.DefaultOrg, "HUMANITEC_TOKEN": "hum-wrong", "HUMANITEC_API_URL": fake.URL}
	r, stateDir := run(t, doctortest.Healthy(), env, "up", "--yes")
	if r.code != ExitBadInput || !strings.Contains(r.stderr, "does not accept the token") {
		t.Fatalf("exit %d, want %d\nstderr: %s", r.code, ExitBadInput, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "state.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state.json: %v, want none", err)
	}
	if strings.Contains(r.stdout+r.stderr, "hum-wrong") {
		t.Error("the token was printed")
	}
}

// TestExitMessages drives the CLI's exit mapping with the errors the
// commands return.
func TestExitMessages(t *testing.T) {
	input := &config.InputError{Msg: "org 5minorg is taken", Hint: "rename it"}
	tests := []struct {
		name    string
		cmd     string
		started bool
		err     error
		code    int
		want    []string
		notWant []string
	}{
		{"bad input met by a later step is a failed step", "up", true,
			errors.Join(&bootstrap.StepError{Step: "gitea/org", Err: input}), ExitFailed,
			[]string{"org 5minorg is taken", "failed step: gitea/org", "full log: /logs/up.log"}, nil},
		{"a pre-flight finding is bad input", "up", false,
			&bootstrap.StepError{Step: "doctor/port", Err: input}, ExitBadInput, []string{"org 5minorg is taken"}, []string{"full log"}},
		{"wizard left", "pocketidp", false, fmt.Errorf("%w: %w", context.Canceled, tui.ErrAborted), ExitInterrupted,
			[]string{"cancelled: nothing was created"}, []string{"state is saved"}},
		{"down selection left", "down", false, fmt.Errorf("%w: %w", context.Canceled, tui.ErrAborted), ExitInterrupted,
			[]string{"cancelled: nothing was removed"}, []string{"state is saved"}},
		{"up interrupted after the state", "up", true, fmt.Errorf("interrupted: %w", context.Canceled), ExitInterrupted,
			[]string{"the state is saved; run `pocketidp up` again"}, nil},
		{"up interrupted in the pre-flight", "up", false, fmt.Errorf("interrupted: %w", context.Canceled), ExitInterrupted,
			[]string{"before anything was created"}, []string{"state is saved"}},
		{"down interrupted while removing", "down", true, fmt.Errorf("interrupted: %w", context.Canceled), ExitInterrupted,
			[]string{"run `pocketidp down` again"}, []string{"resume"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errb bytes.Buffer
			a := &app{env: Env{Stderr: &errb}, redactor: &secret.Redactor{}, cmdName: tt.cmd, started: tt.started, logPath: "/logs/up.log"}
			if code := a.exit(tt.err); code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errb.String())
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(errb.String(), w) {
					t.Errorf("stderr says %q, which is not true here:\n%s", w, errb.String())
				}
			}
		})
	}
}

// TestSecondInterruptExitsAtOnce: the first signal cancels the run, the
// second ends the program without waiting (issue 14, point 8).
func TestSecondInterruptExitsAtOnce(t *testing.T) {
	sig := make(chan os.Signal, 2)
	var code atomic.Int32
	code.Store(-1)
	exited := make(chan struct{})
	var errb bytes.Buffer
	ctx, stop := WithInterrupt(context.Background(), sig, &errb, func(c int) { code.Store(int32(c)); close(exited) })
	defer stop()
	sig <- os.Interrupt
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the first signal did not cancel the run")
	}
	if code.Load() != -1 {
		t.Fatal("the first signal ended the program")
	}
	sig <- os.Interrupt
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the second signal did not end the program")
	}
	if code.Load() != ExitInterrupted || !strings.Contains(errb.String(), "stopped at once") {
		t.Errorf("exit %d, message %q", code.Load(), errb.String())
	}
}

// TestInputWarnings: flags a run ignores say so and why; a token file
// others may read, or of two lines, is bad input (issue 14, point 15).
func TestInputWarnings(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open-token")
	twoLines := filepath.Join(dir, "two-lines")
	if err := os.WriteFile(open, []byte("tok\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(twoLines, []byte("tok\nmore\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	coder := map[string]string{"CODER": "true"}
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"--trust under Coder", coder, []string{"up", "--skip-humanitec", "--trust", "--port", "0"}, "--trust is ignored under Coder"},
		{"--wait without Humanitec", nil, []string{"up", "--yes", "--skip-humanitec", "--wait", "--port", "0"}, "--wait is ignored: the orchestrator is skipped"},
		{"token file others may read", nil, []string{"up", "--yes", "--humanitec-org", "acme", "--humanitec-token-file", open}, "may be read by other users"},
		{"token file of two lines", nil, []string{"up", "--yes", "--humanitec-org", "acme", "--humanitec-token-file", twoLines}, "holds more than one line"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// --port 0 is bad input: the run stops before anything, after
			// the warnings.
			r, _ := run(t, doctortest.Healthy(), tt.env, tt.args...)
			if r.code != ExitBadInput || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr lacks %q:\n%s", r.code, tt.want, r.stderr)
			}
		})
	}
}

// TestJSONEndsWithResult: a JSON `up` or `down` ends with one result
// object in the events' schema: exit code, outcome, failed steps, URLs; and
// `down -o json` writes JSON only (issue 14, point 13).
func TestJSONEndsWithResult(t *testing.T) {
	for _, tt := range []struct {
		name    string
		host    *doctortest.Host
		env     map[string]string
		args    []string
		code    int
		outcome string
		failed  string
	}{
		{"up with every problem", doctortest.Healthy().DaemonDown(), map[string]string{"CI": "true"}, []string{"up", "-o", "json"},
			ExitBadInput, "bad_input", "doctor/engine"},
		{"down with nothing installed", doctortest.Healthy(), nil, []string{"down", "--yes", "-o", "json"}, ExitOK, "ok", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := run(t, tt.host, tt.env, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tt.code, r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			for _, l := range lines {
				var v map[string]any
				if err := json.Unmarshal([]byte(l), &v); err != nil {
					t.Fatalf("not a JSON line: %q", l)
				}
			}
			var res runResult
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
				t.Fatal(err)
			}
			if res.Status != StatusResult || res.ExitCode != tt.code || res.Outcome != tt.outcome || res.URLs == nil ||
				(tt.failed != "" && !slices.Contains(res.FailedSteps, tt.failed)) {
				t.Errorf("result = %+v", res)
			}
		})
	}
}

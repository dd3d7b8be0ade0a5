package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/doctor/doctortest"
	goldenfile "github.com/pocketidp/pocketidp/internal/golden"
	"github.com/pocketidp/pocketidp/internal/humanitec/humanitectest"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/state"
	"github.com/pocketidp/pocketidp/internal/tui"
)

type result struct {
	code           int
	stdout, stderr string
}

// run runs the CLI in a sandbox: its own state and log dirs, a scripted
// machine, and only the environment given.
func run(t *testing.T, host *doctortest.Host, env map[string]string, args ...string) (result, string) {
	t.Helper()
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	// Each command takes only its own flags.
	cmd := ""
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "version", "completion", "--version":
	case "status", "doctor":
		args = append(args, "--state-dir", stateDir)
	default:
		args = append(args, "--state-dir", stateDir, "--log-file", filepath.Join(dir, "log", "debug.log"))
	}
	if env["HUMANITEC_TOKEN"] != "" && env["HUMANITEC_API_URL"] == "" && len(args) > 0 && args[0] == "up" {
		// up checks the token before anything else: against a fake that
		// knows org and token (as an Administrator), never the real API.
		fake := humanitectest.New(t)
		fake.AddOrg(env["HUMANITEC_ORG"])
		fake.AddUser(env["HUMANITEC_TOKEN"], humanitectest.User{ID: "learner",
			Roles: map[string]string{"/orgs/" + env["HUMANITEC_ORG"]: humanitectest.RoleAdministrator}})
		env = maps.Clone(env)
		env["HUMANITEC_API_URL"] = fake.URL
	}
	var out, errb bytes.Buffer
	code := Run(context.Background(), Env{
		Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
		Host:   host,
		Now:    func() time.Time { return time.Date(2026, 11, 27, 21, 0, 0, 0, time.UTC) },
	})
	return result{code, out.String(), errb.String()}, stateDir
}

var humanitecEnv = map[string]string{"HUMANITEC_ORG": "my-org", "HUMANITEC_TOKEN": "hum-secret-token"}

func TestGoldenOutput(t *testing.T) {
	version = "v1.2.3"
	t.Cleanup(func() { version = "" })
	platform := strings.NewReplacer(runtime.Version(), "GO", runtime.GOOS+"/"+runtime.GOARCH, "OS/ARCH",
		`"`+runtime.GOOS+`"`, `"OS"`, `"`+runtime.GOARCH+`"`, `"ARCH"`)
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"help", []string{"--help"}, 0},
		{"up-help", []string{"up", "--help"}, 0},
		{"version", []string{"version"}, 0},
		// Issue 14, point 14: --version as kind and helm have it, each
		// command's help with only its own flags and examples.
		{"version-flag", []string{"--version"}, 0},
		{"down-help", []string{"down", "--help"}, 0},
		{"status-help", []string{"status", "--help"}, 0},
		{"doctor-help", []string{"doctor", "--help"}, 0},
		{"version-help", []string{"version", "--help"}, 0},
		{"version-json", []string{"version", "-o", "json"}, 0},
		{"doctor-json", []string{"doctor", "-o", "json"}, 0},
		{"doctor-text", []string{"doctor"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := run(t, doctortest.Healthy(), humanitecEnv, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", r.code, tt.code, r.stderr)
			}
			golden(t, tt.name, platform.Replace(r.stdout))
		})
	}
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name   string
		host   func() *doctortest.Host
		env    map[string]string
		args   []string
		code   int
		stderr []string
		// absent must not be in stderr.
		absent []string
	}{
		{
			// No org and no token is the local orchestrator, not bad
			// input: only the daemon is a problem here (and stops the run
			// before anything is made).
			name: "no Humanitec variables headless: the local orchestrator", host: func() *doctortest.Host { return doctortest.Healthy().DaemonDown() },
			env: map[string]string{"CODER": "true"}, args: []string{"up"}, code: ExitBadInput,
			stderr: []string{"start the Docker daemon"}, absent: []string{"HUMANITEC_ORG", "HUMANITEC_TOKEN"},
		},
		{
			name: "org without token", host: doctortest.Healthy,
			env: map[string]string{"HUMANITEC_ORG": "my-org"}, args: []string{"up", "--yes"}, code: ExitBadInput,
			stderr: []string{"HUMANITEC_TOKEN is not set"},
		},
		{
			name: "busy port", host: func() *doctortest.Host { h := doctortest.Healthy(); h.Busy["127.0.0.1:8443"] = true; return h },
			env: humanitecEnv, args: []string{"up", "--yes"}, code: ExitBadInput,
			stderr: []string{"port 8443 on 127.0.0.1 is in use", "--port 9443"},
		},
		{
			name: "no engine", host: func() *doctortest.Host { h := doctortest.Healthy(); h.Paths = nil; return h },
			env: humanitecEnv, args: []string{"up", "--yes"}, code: ExitBadInput,
			stderr: []string{"no container engine found", "install Docker"},
		},
		{
			name: "engine stopped", host: func() *doctortest.Host { return doctortest.Healthy().DaemonDown() },
			env: humanitecEnv, args: []string{"up", "--yes"}, code: ExitBadInput,
			stderr: []string{"does not answer", "start the Docker daemon"},
		},
		{
			name: "--wait with no time to wait", host: doctortest.Healthy,
			env: humanitecEnv, args: []string{"up", "--yes", "--wait", "--wait-timeout", "0s"}, code: ExitBadInput,
			stderr: []string{"wait timeout 0s is not positive", "--wait-timeout 40m"},
		},
		{
			name: "token as a plain flag is refused", host: doctortest.Healthy,
			env: humanitecEnv, args: []string{"up", "--humanitec-token", "abc"}, code: ExitBadInput,
			stderr: []string{"unknown flag: --humanitec-token"},
		},
		{
			name: "empty Gitea password file", host: doctortest.Healthy,
			env: humanitecEnv, args: []string{"up", "--yes", "--gitea-admin-password-file", os.DevNull}, code: ExitBadInput,
			stderr: []string{"--gitea-admin-password-file " + os.DevNull + " is empty", "GITEA_ADMIN_PASSWORD"},
		},
		{
			name: "missing Gitea password file", host: doctortest.Healthy,
			env: humanitecEnv, args: []string{"up", "--yes", "--gitea-admin-password-file", "/nonexistent/pw"}, code: ExitBadInput,
			stderr: []string{"read --gitea-admin-password-file", "point --gitea-admin-password-file at a file"},
		},
		{
			name: "bad output", host: doctortest.Healthy,
			env: humanitecEnv, args: []string{"up", "-o", "xml"}, code: ExitBadInput,
			stderr: []string{`output "xml" is not known`},
		},
		{
			name: "yaml without --dry-run", host: doctortest.Healthy,
			env: humanitecEnv, args: []string{"up", "--yes", "-o", "yaml"}, code: ExitBadInput,
			stderr: []string{"-o yaml shows what up would create", "pass --dry-run"},
		},
		{
			name: "dry run with a bad name", host: doctortest.Healthy,
			env: humanitecEnv, args: []string{"up", "--dry-run", "--name", "Bad_Name"}, code: ExitBadInput,
			stderr: []string{`cluster name "Bad_Name" is not valid`},
		},
		{
			name: "down headless needs --yes", host: doctortest.Healthy,
			env: humanitecEnv, args: []string{"down"}, code: ExitOK, // nothing installed: nothing to ask
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, stateDir := run(t, tt.host(), tt.env, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr does not say %q:\n%s", s, r.stderr)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(r.stderr, s) {
					t.Errorf("stderr says %q:\n%s", s, r.stderr)
				}
			}
			if strings.Contains(r.stdout+r.stderr, "hum-secret-token") {
				t.Error("the token was printed")
			}
			if _, err := os.Stat(stateDir); !os.IsNotExist(err) {
				t.Errorf("state dir was created (%v): something was half-created", err)
			}
		})
	}
}

// optionsFor resolves the options command cmd ("" for the root) would run
// with, from env and args, with its state in stateDir; it returns the app
// too, for its redactor.
func optionsFor(t *testing.T, env map[string]string, cmd, stateDir string, args ...string) (config.Options, *app) {
	t.Helper()
	a := &app{env: Env{Getenv: func(k string) string { return env[k] }}, redactor: &secret.Redactor{}}
	c := a.rootCommand()
	if cmd != "" {
		var err error
		if c, _, err = c.Find([]string{cmd}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.ParseFlags(append(args, "--state-dir", stateDir)); err != nil {
		t.Fatal(err)
	}
	o, err := a.options(c)
	if err != nil {
		t.Fatal(err)
	}
	return o, a
}

// TestWaitDefault: a Coder workspace's startup script is the learner's only
// view of the build, so there `up` waits for Backstage unless told not to.
func TestWaitDefault(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want bool
	}{
		{"terminal", nil, nil, false},
		{"--wait", nil, []string{"--wait"}, true},
		{"Coder", map[string]string{"CODER": "true"}, nil, true},
		{"Coder, --wait=false", map[string]string{"CODER": "true"}, []string{"--wait=false"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, _ := optionsFor(t, tt.env, "", t.TempDir(), tt.args...)
			if o.Wait != tt.want {
				t.Errorf("Wait = %t, want %t", o.Wait, tt.want)
			}
		})
	}
}

// TestUpBudget: --wait-timeout adds to --timeout only when there is a
// Backstage to wait for.
func TestUpBudget(t *testing.T) {
	for _, tt := range []struct {
		name       string
		wait, skip bool
		want       time.Duration
	}{
		{"platform only", false, false, 30 * time.Minute},
		{"--wait", true, false, 70 * time.Minute},
		{"--wait without Humanitec", true, true, 30 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := config.Defaults()
			o.Timeout, o.WaitTimeout = 30*time.Minute, 40*time.Minute
			o.Wait, o.SkipHumanitec = tt.wait, tt.skip
			if got := upBudget(o); got != tt.want {
				t.Errorf("upBudget = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestCredentialsLiftASavedSkip: `up --yes` without credentials saves
// "Humanitec skipped"; setting HUMANITEC_ORG and HUMANITEC_TOKEN and running
// up again (the doctor's own advice) adds Humanitec, unless this run says
// --skip-humanitec. `down` keeps the saved choice.
func TestCredentialsLiftASavedSkip(t *testing.T) {
	creds := map[string]string{"HUMANITEC_ORG": "acme", "HUMANITEC_TOKEN": "hum-token"}
	for _, tt := range []struct {
		name     string
		cmd      string
		env      map[string]string
		args     []string
		wantSkip bool
	}{
		{"no credentials", "up", nil, nil, true},
		{"org and token given", "up", creds, nil, false},
		{"only the org", "up", map[string]string{"HUMANITEC_ORG": "acme"}, nil, true},
		{"--skip-humanitec wins", "up", creds, []string{"--skip-humanitec"}, true},
		{"doctor", "doctor", creds, nil, false},
		{"down keeps the saved choice", "down", creds, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			store, err := state.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			saved := config.Defaults()
			saved.SkipHumanitec = true
			if err := store.Update(func(f *state.File) { f.Options = saved }); err != nil {
				t.Fatal(err)
			}
			store.Close()

			o, _ := optionsFor(t, tt.env, tt.cmd, dir, tt.args...)
			if o.SkipHumanitec != tt.wantSkip {
				t.Errorf("SkipHumanitec = %t, want %t", o.SkipHumanitec, tt.wantSkip)
			}
		})
	}
}

// TestGiteaPasswordOverride: SPEC §2, the admin password is overridable,
// from the environment or a file (never a flag value), and then masked in
// every output; the course's default is not a secret and stays readable.
func TestGiteaPasswordOverride(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte("from-a-file-42\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		env    map[string]string
		args   []string
		want   string
		masked bool
	}{
		{"default", nil, nil, "5minadmin", false},
		{"environment", map[string]string{"GITEA_ADMIN_PASSWORD": "from-the-env-42"}, nil, "from-the-env-42", true},
		{"file wins", map[string]string{"GITEA_ADMIN_PASSWORD": "from-the-env-42"}, []string{"--gitea-admin-password-file", file}, "from-a-file-42", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, a := optionsFor(t, tt.env, "", t.TempDir(), tt.args...)
			if got := o.GiteaAdminPassword.Reveal(); got != tt.want {
				t.Errorf("password = %q, want %q", got, tt.want)
			}
			if masked := !strings.Contains(a.redactor.Redact("login "+tt.want), tt.want); masked != tt.masked {
				t.Errorf("masked = %t, want %t", masked, tt.masked)
			}
		})
	}
}

// TestStatusAsksTheEngine: for a kind install, status asks the engine
// whether the node container runs; the recorded steps alone would call a
// cluster deleted by hand healthy.
func TestStatusAsksTheEngine(t *testing.T) {
	const ps = "docker ps --filter label=io.x-k8s.kind.cluster=5min-idp --format {{.Names}}"
	for _, tt := range []struct {
		name       string
		out        *string
		wantHealth tui.Health
		wantDetail string
	}{
		{"running", ptr("5min-idp-control-plane\n"), tui.Healthy, "steps done"},
		{"deleted by hand", ptr(""), tui.Missing, "5min-idp-control-plane is not running"},
		{"engine does not answer", nil, tui.Unknown, "could not ask the container engine"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stateDir := t.TempDir()
			store, err := state.Open(stateDir)
			if err != nil {
				t.Fatal(err)
			}
			if err := store.Update(func(f *state.File) { f.Options = config.Defaults() }); err != nil {
				t.Fatal(err)
			}
			if err := store.SetStep("cluster", state.StepDone, ""); err != nil {
				t.Fatal(err)
			}
			store.Close()

			h := doctortest.Healthy()
			if tt.out != nil {
				h.Out[ps] = *tt.out
			} else {
				h.DaemonDown()
			}
			var out, errb bytes.Buffer
			code := Run(context.Background(), Env{
				Args:  []string{"status", "-o", "json", "--state-dir", stateDir},
				Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
				Getenv: func(string) string { return "" }, Host: h,
			})
			var st tui.Status
			if err := json.Unmarshal(out.Bytes(), &st); err != nil {
				t.Fatalf("status -o json: %v\n%s%s", err, out.String(), errb.String())
			}
			i := slices.IndexFunc(st.Components, func(c tui.Component) bool { return c.Name == "cluster" })
			if i < 0 {
				t.Fatalf("no cluster component: %+v", st.Components)
			}
			if c := st.Components[i]; c.Health != tt.wantHealth || !strings.Contains(c.Detail, tt.wantDetail) {
				t.Errorf("cluster %s %q, want %s ~%q", c.Health, c.Detail, tt.wantHealth, tt.wantDetail)
			}
			// Scripts read the exit code (issue 14, point 13).
			if tt.wantHealth == tui.Missing && (code != ExitFailed || !strings.Contains(errb.String(), "not healthy: cluster missing")) {
				t.Errorf("status of a missing cluster: exit %d, stderr %q", code, errb.String())
			}
			if !strings.Contains(out.String(), `"components": [`) || strings.Contains(out.String(), `"Components"`) {
				t.Errorf("status -o json is not in lowercase fields:\n%s", out.String())
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name+".golden"), []byte(got))
}

// TestCompletion: `pocketidp completion bash|zsh|fish` prints a script
// (issue 14, point 14).
func TestCompletion(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		r, _ := run(t, doctortest.Healthy(), nil, "completion", sh)
		if r.code != 0 || !strings.Contains(r.stdout, "pocketidp") {
			t.Errorf("completion %s: exit %d, %d bytes\n%s", sh, r.code, len(r.stdout), r.stderr)
		}
	}
}

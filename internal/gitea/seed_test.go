package gitea

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/state"
	"github.com/pocketidp/pocketidp/internal/testenv"
)

// checkSeeded reads every seeded object back through the API and checks it
// field by field: the org, the repository with base as the commit it
// arrived at and the trigger commit on top, the variables, the secret, the
// workflow run, and the state. It returns the trigger commit.
func checkSeeded(t *testing.T, f *fixture, up *upstream, base, source string) string {
	t.Helper()
	org, repo := f.cfg.Org, DefaultRepo
	id := f.store.InstallID()

	o, _, err := f.admin.GetOrg(org)
	if err != nil {
		t.Fatalf("read org: %v", err)
	}
	if o.Name != org || o.Visibility != "public" || o.FullName != org || !o.RepoAdminChangeTeamAccess {
		t.Errorf("org = {Name:%q Visibility:%q FullName:%q RepoAdminChangeTeamAccess:%t}, want {%q public %q true}",
			o.Name, o.Visibility, o.FullName, o.RepoAdminChangeTeamAccess, org, org)
	}

	r, _, err := f.admin.GetRepo(org, repo)
	if err != nil {
		t.Fatalf("read repo: %v", err)
	}
	if r.FullName != org+"/"+repo || r.Mirror || r.Private || r.Empty || r.Fork || r.Archived || !r.HasActions || r.DefaultBranch != "main" {
		t.Errorf("repo = {FullName:%q Mirror:%t Private:%t Empty:%t Fork:%t Archived:%t HasActions:%t DefaultBranch:%q}, want {%s/%s false false false false false true main}",
			r.FullName, r.Mirror, r.Private, r.Empty, r.Fork, r.Archived, r.HasActions, r.DefaultBranch, org, repo)
	}
	if source == up.URL && r.OriginalURL != up.URL {
		t.Errorf("repo original URL = %q, want %q (a migration)", r.OriginalURL, up.URL)
	}
	branches, _, err := f.admin.ListRepoBranches(org, repo, sdk.ListRepoBranchesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range branches {
		names = append(names, b.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"main", "release"}) {
		t.Errorf("branches = %v, want [main release]", names)
	}
	if tag, _, err := f.admin.GetTag(org, repo, "v1"); err != nil || tag.Commit.SHA != up.V1 {
		t.Errorf("tag v1 = %+v, %v; want it at %s", tag, err, up.V1)
	}

	trigger := f.store.Value(KeyTriggerCommit)
	main, _, err := f.admin.GetRepoBranch(org, repo, "main")
	if err != nil {
		t.Fatal(err)
	}
	if trigger == "" || main.Commit.ID != trigger {
		t.Fatalf("main is at %s, the recorded trigger commit is %q", main.Commit.ID, trigger)
	}
	if got := f.store.Value(KeyBackstageCommit); got != base {
		t.Errorf("recorded Backstage commit = %s, want %s", got, base)
	}
	cm, _, err := f.admin.GetSingleCommit(org, repo, trigger)
	if err != nil {
		t.Fatal(err)
	}
	if len(cm.Parents) != 1 || cm.Parents[0].SHA != base {
		t.Errorf("trigger commit parents = %v, want [%s]", cm.Parents, base)
	}
	msg := cm.RepoCommit.Message
	if !strings.HasPrefix(msg, "Trigger the first Backstage build\n") || !strings.Contains(msg, "PocketIDP-Install: "+id) ||
		!strings.Contains(msg, BackstageAppID(id)) {
		t.Errorf("trigger commit message = %q", msg)
	}
	if cm.RepoCommit.Author.Name != f.cfg.Admin {
		t.Errorf("trigger commit author = %q, want %q", cm.RepoCommit.Author.Name, f.cfg.Admin)
	}
	if len(cm.Files) != 1 || cm.Files[0].Filename != TriggerPath {
		t.Errorf("trigger commit changes %v, want only %s", cm.Files, TriggerPath)
	}
	content, _, err := f.admin.GetFile(org, repo, "main", TriggerPath)
	if err != nil || !strings.Contains(string(content), "install "+id) {
		t.Errorf("%s = %q, %v; want it to name install %s", TriggerPath, content, err, id)
	}
	for p, want := range up.filesAt(base) {
		got, _, err := f.admin.GetFile(org, repo, "main", p)
		if err != nil || string(got) != want {
			t.Errorf("%s on main = %q, %v; want %q", p, got, err, want)
		}
	}

	vars, _, err := f.admin.ListOrgActionVariable(org, sdk.ListOrgActionVariableOption{})
	if err != nil {
		t.Fatal(err)
	}
	gotVars := map[string]string{}
	for _, v := range vars {
		gotVars[v.Name] = v.Data
		if v.OwnerID != o.ID || v.RepoID != 0 {
			t.Errorf("variable %s owner/repo = %d/%d, want the org %d", v.Name, v.OwnerID, v.RepoID, o.ID)
		}
	}
	wantVars := map[string]string{"CLOUD_PROVIDER": "5min", "HUMANITEC_ORG_ID": f.cfg.HumanitecOrg, "HUMANITEC_APP_ID": "5min-backstage-" + id}
	if !maps.Equal(gotVars, wantVars) {
		t.Errorf("org variables = %v, want %v", gotVars, wantVars)
	}
	secrets, _, err := f.admin.ListOrgActionSecret(org, sdk.ListOrgActionSecretOption{})
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets) != 1 || secrets[0].Name != "HUMANITEC_TOKEN" || !strings.Contains(secrets[0].Description, "PocketIDP") {
		t.Errorf("org secrets = %+v, want HUMANITEC_TOKEN only", secrets)
	}

	// Gitea creates runs from the push asynchronously.
	var runs *sdk.ActionWorkflowRunsResponse
	testenv.Eventually(t, 30*time.Second, func() error {
		runs, _, err = f.admin.ListRepoActionRuns(org, repo, sdk.ListRepoActionRunsOptions{})
		if err != nil {
			return err
		}
		if runs.TotalCount == 0 {
			// Gitea makes the run from the push in a background queue;
			// its log says what became of it.
			return fmt.Errorf("no workflow run of the trigger commit; Gitea's log ends:\n%s", f.g.LogTail(40))
		}
		return nil
	})
	if runs.TotalCount != 1 || len(runs.WorkflowRuns) != 1 || runs.WorkflowRuns[0].HeadSha != trigger || runs.WorkflowRuns[0].Event != "push" {
		var got []string
		for _, w := range runs.WorkflowRuns {
			got = append(got, w.Event+"@"+w.HeadSha)
		}
		t.Errorf("workflow runs = %v, want one push run for the trigger commit %s", got, trigger)
	}

	snap := f.store.Snapshot()
	var objs []string
	for _, o := range snap.Objects {
		objs = append(objs, o.Kind+" "+o.ID)
	}
	slices.Sort(objs)
	wantObjs := []string{
		KindOrg + " " + org,
		KindOrgSecret + " " + org + "/HUMANITEC_TOKEN",
		KindOrgVariable + " " + org + "/CLOUD_PROVIDER",
		KindOrgVariable + " " + org + "/HUMANITEC_APP_ID",
		KindOrgVariable + " " + org + "/HUMANITEC_ORG_ID",
		KindRepo + " " + org + "/" + repo,
	}
	if !slices.Equal(objs, wantObjs) {
		t.Errorf("state objects = %v, want %v", objs, wantObjs)
	}
	salt := id + "/" + org + "/HUMANITEC_TOKEN"
	if got := f.store.Value(KeyTokenFingerprint); got != f.cfg.HumanitecToken.Fingerprint(salt) {
		t.Errorf("token fingerprint = %q, want the salted fingerprint of the token", got)
	}
	checkNoLeak(t, f)
	return trigger
}

// checkNoLeak makes sure the Humanitec token is in no log line and not in
// the state file.
func checkNoLeak(t *testing.T, f *fixture) {
	t.Helper()
	tok := f.cfg.HumanitecToken.Reveal()
	if strings.Contains(f.logs.String(), tok) {
		t.Error("the Humanitec token appears in the log")
	}
	b, err := os.ReadFile(f.store.Path())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), tok) {
		t.Error("the Humanitec token appears in the state file")
	}
}

// filesAt returns the upstream's files as they are at commit c.
func (u *upstream) filesAt(c string) map[string]string {
	files := maps.Clone(u.Files)
	if c == u.V1 {
		files["README.md"] = strings.TrimSuffix(files["README.md"], "\nVersion 2.\n")
	}
	return files
}

func TestSeed(t *testing.T) {
	g := testenv.Gitea(t)
	up := makeUpstream(t, g)
	f := newFixture(t, g, up.URL)
	ctx := f.ctx()

	token, err := f.seeder().Seed(ctx)
	if err != nil {
		t.Fatalf("seed: %v\n%s", err, f.logs)
	}
	t.Logf("cold seed: %d requests, %d writes: %v", len(f.rec.all()), len(f.rec.writes()), f.rec.writes())
	trigger := checkSeeded(t, f, up, up.Head, up.URL)
	if got := f.store.Value(KeyBackstageSource); got != "migrated from "+up.URL {
		t.Errorf("recorded source = %q", got)
	}

	// The runner registration token works the way the runner chart uses
	// it, and the job the runner then gets carries exactly the variables
	// and the token the workflow needs.
	if token.Empty() {
		t.Fatal("no runner registration token")
	}
	again, err := f.seeder().RunnerToken(ctx)
	if err != nil || again.Reveal() != token.Reveal() {
		t.Errorf("second registration token differs (%v): Gitea should hand out its current one", err)
	}
	runner := testenv.ActionsRunner(t, testenv.RunnerOptions{GiteaURL: g.URL, RegistrationToken: token.Reveal()})
	var task testenv.RunnerTask
	testenv.Eventually(t, time.Minute, func() error {
		tasks := runner.Tasks()
		if len(tasks) == 0 {
			return errors.New("the runner registered with the token got no job")
		}
		task = tasks[0]
		return nil
	})
	if task.Secrets["HUMANITEC_TOKEN"] != f.cfg.HumanitecToken.Reveal() {
		t.Errorf("the job's HUMANITEC_TOKEN is not the token given to the seeding")
	}
	for k, want := range map[string]string{"CLOUD_PROVIDER": "5min", "HUMANITEC_ORG_ID": f.cfg.HumanitecOrg, "HUMANITEC_APP_ID": BackstageAppID(f.store.InstallID())} {
		if task.Vars[k] != want {
			t.Errorf("the job's vars.%s = %q, want %q", k, task.Vars[k], want)
		}
	}
	if task.SHA != trigger || task.Repo != f.cfg.Org+"/backstage" {
		t.Errorf("the job runs %s@%s, want %s/backstage@%s", task.Repo, task.SHA, f.cfg.Org, trigger)
	}
	// Let the runner finish the job before the subtests change and then
	// delete the repository under it.
	waitBuild(t, f.seeder(), trigger, "succeeded", func(b Build, _ bool) bool { return b.Succeeded() })

	t.Run("second run writes nothing", func(t *testing.T) {
		f.rec.reset()
		before := f.store.Snapshot()
		token, err := f.seeder().Seed(ctx)
		if err != nil {
			t.Fatalf("seed again: %v", err)
		}
		if w := f.rec.writes(); len(w) != 0 {
			t.Errorf("second run made write calls: %v", w)
		}
		t.Logf("no-op seed: %d requests, all reads", len(f.rec.all()))
		if !token.Empty() {
			t.Error("a registration token was fetched although a runner is registered")
		}
		after := f.store.Snapshot()
		if !slices.Equal(before.Objects, after.Objects) || !maps.Equal(before.Values, after.Values) {
			t.Errorf("state changed:\nbefore %+v %v\nafter  %+v %v", before.Objects, before.Values, after.Objects, after.Values)
		}
		if checkSeeded(t, f, up, up.Head, up.URL) != trigger {
			t.Error("the trigger commit changed")
		}
	})

	changes := []struct {
		name       string
		change     func(c *Config)
		wantWrites []string
	}{
		{"changed token updates only the secret", func(c *Config) { c.HumanitecToken = secret.New("hum-token-rotated-" + randomHex(t, 8)) },
			[]string{"PUT /api/v1/orgs/" + f.cfg.Org + "/actions/secrets/HUMANITEC_TOKEN"}},
		{"changed Humanitec org updates only its variable", func(c *Config) { c.HumanitecOrg = "other-org" },
			[]string{"PUT /api/v1/orgs/" + f.cfg.Org + "/actions/variables/HUMANITEC_ORG_ID"}},
		{"unchanged writes nothing", func(*Config) {}, nil},
	}
	for _, tt := range changes {
		t.Run(tt.name, func(t *testing.T) {
			tt.change(&f.cfg)
			f.rec.reset()
			if _, err := f.seeder().Seed(ctx); err != nil {
				t.Fatalf("seed: %v", err)
			}
			if w := f.rec.writes(); !slices.Equal(w, tt.wantWrites) {
				t.Errorf("writes = %v, want %v", w, tt.wantWrites)
			}
			if checkSeeded(t, f, up, up.Head, up.URL) != trigger {
				t.Error("the trigger commit changed")
			}
		})
	}

	t.Run("undo removes what the install created, nothing else", func(t *testing.T) {
		s := f.seeder()
		for _, undo := range []func(context.Context) error{s.RemoveActionsConfig, s.RemoveBackstageRepo, s.RemoveOrg} {
			if err := undo(ctx); err != nil {
				t.Fatalf("undo: %v", err)
			}
		}
		if _, resp, _ := f.admin.GetOrg(f.cfg.Org); statusOf(resp) != 404 {
			t.Errorf("org after undo: status %d, want 404", statusOf(resp))
		}
		if _, resp, _ := f.admin.GetRepo(f.cfg.Org, DefaultRepo); statusOf(resp) != 404 {
			t.Errorf("repo after undo: status %d, want 404", statusOf(resp))
		}
		if _, _, err := f.admin.GetRepo(g.AdminUser, strings.TrimSuffix(up.URL[strings.LastIndex(up.URL, "/")+1:], ".git")); err != nil {
			t.Errorf("the upstream repository (not the install's) is gone: %v", err)
		}
		if u, _, err := f.admin.GetUserInfo(g.AdminUser); err != nil || !u.IsAdmin {
			t.Errorf("the admin user is gone or changed: %v", err)
		}
		if snap := f.store.Snapshot(); len(snap.Objects) != 0 || snap.Values[KeyTriggerCommit] != "" || snap.Values[KeyTokenFingerprint] != "" {
			t.Errorf("state after undo still lists %+v %v", snap.Objects, snap.Values)
		}
		// Again: everything is gone already, which counts as success.
		f.rec.reset()
		for _, undo := range []func(context.Context) error{s.RemoveActionsConfig, s.RemoveBackstageRepo, s.RemoveOrg} {
			if err := undo(ctx); err != nil {
				t.Fatalf("second undo: %v", err)
			}
		}
		if w := f.rec.writes(); len(w) != 0 {
			t.Errorf("second undo wrote %v", w)
		}
	})
}

func TestSeedRef(t *testing.T) {
	g := testenv.Gitea(t)
	up := makeUpstream(t, g)
	tests := []struct {
		name       string
		ref        string
		wantCommit string
		wantInput  bool
	}{
		{"default branch", "", up.Head, false},
		{"tag", "v1", up.V1, false},
		{"branch", "release", up.V1, false},
		{"commit", up.V1, up.V1, false},
		{"missing ref", "no-such-ref", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, g, up.URL)
			f.cfg.Ref = tt.ref
			_, err := f.seeder().Seed(f.ctx())
			if tt.wantInput {
				var ie *config.InputError
				if !errors.As(err, &ie) || !strings.Contains(ie.Msg, tt.ref) || ie.Fix() == "" {
					t.Fatalf("seed with ref %q: %v, want an input error naming the ref", tt.ref, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("seed: %v\n%s", err, f.logs)
			}
			checkSeeded(t, f, up, tt.wantCommit, up.URL)
		})
	}
}

func TestSeedSkipHumanitec(t *testing.T) {
	g := testenv.Gitea(t)
	up := makeUpstream(t, g)
	f := newFixture(t, g, up.URL)
	f.cfg.HumanitecOrg, f.cfg.HumanitecToken = "", secret.Value{}
	if _, err := f.seeder().Seed(f.ctx()); err != nil {
		t.Fatalf("seed: %v", err)
	}
	vars, _, _ := f.admin.ListOrgActionVariable(f.cfg.Org, sdk.ListOrgActionVariableOption{})
	secrets, _, _ := f.admin.ListOrgActionSecret(f.cfg.Org, sdk.ListOrgActionSecretOption{})
	if len(vars) != 0 || len(secrets) != 0 {
		t.Errorf("variables %v and secrets %v set although Humanitec is skipped", vars, secrets)
	}
	main, _, err := f.admin.GetRepoBranch(f.cfg.Org, DefaultRepo, "main")
	if err != nil || main.Commit.ID != up.Head {
		t.Errorf("main = %v, %v; want the upstream head %s and no trigger commit", main, err, up.Head)
	}
	if !strings.Contains(f.logs.String(), "Humanitec is skipped") {
		t.Errorf("the log does not say Humanitec is skipped:\n%s", f.logs)
	}
}

// TestOfflineFallback migrates from a source Gitea cannot reach and checks
// that the same content arrives from a local clone or bundle, with a log
// line that says so.
func TestOfflineFallback(t *testing.T) {
	g := testenv.Gitea(t)
	up := makeUpstream(t, g)
	notAGitDir, notABundle := t.TempDir(), t.TempDir()+"/backstage.bundle"
	if err := os.WriteFile(notABundle, []byte("PK\x03\x04 a zip file"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		source  string
		offline string
		wantErr string // "" = success; "input" = *config.InputError; "fix" = an error with a Fix
	}{
		{"clone, unreachable host", "http://127.0.0.1:1/backstage.git", up.Clone, ""},
		{"bundle, unknown host", "https://backstage.invalid/backstage.git", up.Bundle, ""},
		{"no offline source", "http://127.0.0.1:1/backstage.git", "", "fix"},
		{"folder that is no clone", "http://127.0.0.1:1/backstage.git", notAGitDir, "input"},
		{"file that is no bundle", "http://127.0.0.1:1/backstage.git", notABundle, "input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, g, tt.source)
			f.cfg.OfflineSource = tt.offline
			_, err := f.seeder().Seed(f.ctx())
			switch tt.wantErr {
			case "":
				if err != nil {
					t.Fatalf("seed: %v\n%s", err, f.logs)
				}
				checkSeeded(t, f, up, up.Head, tt.source)
				logs := f.logs.String()
				if !strings.Contains(logs, "offline fallback") || !strings.Contains(logs, tt.offline) || !strings.Contains(logs, tt.source) {
					t.Errorf("no log line says the content came from %s instead of %s:\n%s", tt.offline, tt.source, logs)
				}
				if got := f.store.Value(KeyBackstageSource); !strings.HasPrefix(got, "pushed from ") || !strings.HasSuffix(got, tt.offline) {
					t.Errorf("recorded source = %q", got)
				}
				return
			case "input":
				var ie *config.InputError
				if !errors.As(err, &ie) || !strings.Contains(ie.Msg, tt.offline) || ie.Fix() == "" {
					t.Fatalf("seed: %v, want an input error naming %s", err, tt.offline)
				}
			case "fix":
				var fx interface{ Fix() string }
				if !errors.As(err, &fx) || !strings.Contains(err.Error(), tt.source) || !strings.Contains(fx.Fix(), "offline") {
					t.Fatalf("seed: %v, want an error naming the source with a fix", err)
				}
			}
			// Nothing half-made is left: Gitea rolled its migration back or
			// the push never started, and a re-run starts clean.
			r, resp, _ := f.admin.GetRepo(f.cfg.Org, DefaultRepo)
			if statusOf(resp) != 404 && (r == nil || !r.Empty) {
				t.Errorf("after the failure the repository is %+v (status %d)", r, statusOf(resp))
			}
		})
	}
}

func TestOrgConflicts(t *testing.T) {
	g := testenv.Gitea(t)
	ctx := context.Background()

	t.Run("org name taken by a user", func(t *testing.T) {
		f := newFixture(t, g, "http://127.0.0.1:1/unused.git")
		if _, _, err := f.admin.AdminCreateUser(sdk.CreateUserOption{Username: f.cfg.Org, Email: f.cfg.Org + "@example.test",
			Password: "a-user-password-1", MustChangePassword: new(false)}); err != nil {
			t.Fatal(err)
		}
		_, err := f.seeder().Seed(ctx)
		var ce *ConflictError
		if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "taken by the Gitea user") || !strings.Contains(ce.Fix(), "rename or delete") {
			t.Fatalf("seed: %v, want a conflict naming the user and the fix", err)
		}
		if w := f.rec.writes(); len(w) != 0 {
			t.Errorf("writes despite the conflict: %v", w)
		}
		if f.store.HasObject(KindOrg, f.cfg.Org) {
			t.Error("the user's name is recorded as the install's org")
		}
		// down must not touch the user.
		if err := f.seeder().RemoveOrg(ctx); err != nil {
			t.Fatal(err)
		}
		if u, _, err := f.admin.GetUserInfo(f.cfg.Org); err != nil || u.UserName != f.cfg.Org {
			t.Errorf("the user is gone after undo: %v", err)
		}
	})

	t.Run("existing org is used and left in place", func(t *testing.T) {
		f := newFixture(t, g, "http://127.0.0.1:1/unused.git")
		if _, _, err := f.admin.CreateOrg(sdk.CreateOrgOption{Name: f.cfg.Org, Visibility: sdk.VisibleTypePublic}); err != nil {
			t.Fatal(err)
		}
		s := f.seeder()
		if done, err := s.OrgDone(ctx); err != nil || !done {
			t.Errorf("OrgDone = %t, %v; want true for an existing public org", done, err)
		}
		if err := s.EnsureOrg(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveOrg(ctx); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.admin.GetOrg(f.cfg.Org); err != nil {
			t.Errorf("an org the install did not create was removed: %v", err)
		}
		if w := f.rec.writes(); len(w) != 0 {
			t.Errorf("writes to an org the install did not create: %v", w)
		}
	})

	t.Run("install's org holding a user's repository stays", func(t *testing.T) {
		f := newFixture(t, g, "http://127.0.0.1:1/unused.git")
		s := f.seeder()
		if err := s.EnsureOrg(ctx); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.admin.CreateOrgRepo(f.cfg.Org, sdk.CreateRepoOption{Name: "my-app", AutoInit: true}); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveOrg(f.with(ctx)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.admin.GetRepo(f.cfg.Org, "my-app"); err != nil {
			t.Errorf("the user's repository is gone: %v", err)
		}
		if !strings.Contains(f.logs.String(), f.cfg.Org+"/my-app") {
			t.Errorf("the log does not name the repository that keeps the org:\n%s", f.logs)
		}
	})

	t.Run("private org of the install is made public", func(t *testing.T) {
		f := newFixture(t, g, "http://127.0.0.1:1/unused.git")
		s := f.seeder()
		if err := s.EnsureOrg(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := f.admin.EditOrg(f.cfg.Org, sdk.EditOrgOption{Visibility: sdk.VisibleTypePrivate}); err != nil {
			t.Fatal(err)
		}
		if done, _ := s.OrgDone(ctx); done {
			t.Error("OrgDone is true for a private org")
		}
		if err := s.EnsureOrg(ctx); err != nil {
			t.Fatal(err)
		}
		if o, _, err := f.admin.GetOrg(f.cfg.Org); err != nil || o.Visibility != "public" {
			t.Errorf("org visibility = %v, %v; want public", o, err)
		}
	})
}

func TestRepoConflicts(t *testing.T) {
	g := testenv.Gitea(t)
	up := makeUpstream(t, g)
	ctx := context.Background()
	tests := []struct {
		name     string
		prepare  func(t *testing.T, f *fixture)
		wantErr  bool
		wantKept bool // the repository is the user's and stays after undo
	}{
		{"user's repository with content is used as it is", func(t *testing.T, f *fixture) {
			if _, _, err := f.admin.CreateOrgRepo(f.cfg.Org, sdk.CreateRepoOption{Name: DefaultRepo, AutoInit: true, DefaultBranch: "main"}); err != nil {
				t.Fatal(err)
			}
		}, false, true},
		{"user's empty repository is a conflict", func(t *testing.T, f *fixture) {
			if _, _, err := f.admin.CreateOrgRepo(f.cfg.Org, sdk.CreateRepoOption{Name: DefaultRepo}); err != nil {
				t.Fatal(err)
			}
		}, true, true},
		{"mirror is a conflict", func(t *testing.T, f *fixture) {
			if _, _, err := f.admin.MigrateRepo(sdk.MigrateRepoOption{RepoName: DefaultRepo, RepoOwner: f.cfg.Org, CloneAddr: up.URL, Mirror: true}); err != nil {
				t.Fatal(err)
			}
		}, true, true},
		{"install's empty repository is imported again", func(t *testing.T, f *fixture) {
			if _, _, err := f.admin.CreateOrgRepo(f.cfg.Org, sdk.CreateRepoOption{Name: DefaultRepo}); err != nil {
				t.Fatal(err)
			}
			if err := f.store.AddObject(KindRepo, f.cfg.Org+"/"+DefaultRepo); err != nil {
				t.Fatal(err)
			}
		}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, g, up.URL)
			s := f.seeder()
			if err := s.EnsureOrg(ctx); err != nil {
				t.Fatal(err)
			}
			tt.prepare(t, f)
			before, _, _ := f.admin.GetRepo(f.cfg.Org, DefaultRepo)
			err := s.EnsureBackstageRepo(ctx)
			if tt.wantErr {
				var ce *ConflictError
				if !errors.As(err, &ce) || ce.Fix() == "" {
					t.Fatalf("EnsureBackstageRepo: %v, want a conflict with a fix", err)
				}
			} else if err != nil {
				t.Fatalf("EnsureBackstageRepo: %v", err)
			}
			after, _, err := f.admin.GetRepo(f.cfg.Org, DefaultRepo)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantKept && after.ID != before.ID {
				t.Errorf("the user's repository was replaced (id %d -> %d)", before.ID, after.ID)
			}
			if !tt.wantErr {
				main, _, err := f.admin.GetRepoBranch(f.cfg.Org, DefaultRepo, after.DefaultBranch)
				if err != nil || main.Commit.ID != f.store.Value(KeyBackstageCommit) {
					t.Errorf("recorded commit %q, branch %v: %v", f.store.Value(KeyBackstageCommit), main, err)
				}
			}
			if err := s.RemoveBackstageRepo(ctx); err != nil {
				t.Fatal(err)
			}
			_, resp, _ := f.admin.GetRepo(f.cfg.Org, DefaultRepo)
			if kept := statusOf(resp) != 404; kept != tt.wantKept {
				t.Errorf("after undo the repository exists = %t, want %t", kept, tt.wantKept)
			}
		})
	}
}

// The state package's store is what the product passes.
var _ Store = (*state.Store)(nil)

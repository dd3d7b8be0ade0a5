package gitea

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/testenv"
)

func TestReadyFaults(t *testing.T) {
	bin := testenv.RequireBinaries(t)
	ctx := context.Background()
	g, err := testenv.StartGitea(ctx, testenv.GiteaOptions{Binaries: bin, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })

	t.Run("Gitea not up yet", func(t *testing.T) {
		f := newFixture(t, g, "unused")
		if err := g.Stop(); err != nil {
			t.Fatal(err)
		}
		const delay = 3 * time.Second
		started := make(chan error, 1)
		go func() {
			time.Sleep(delay)
			started <- g.Start(ctx)
		}()
		begin := time.Now()
		err := f.seeder().WaitReady(f.with(ctx))
		if serr := <-started; serr != nil {
			t.Fatalf("start Gitea: %v", serr)
		}
		if err != nil {
			t.Fatalf("WaitReady: %v\n%s", err, f.logs)
		}
		if waited := time.Since(begin); waited < delay {
			t.Errorf("WaitReady returned after %s, before Gitea was started (%s)", waited, delay)
		}
		if !strings.Contains(f.logs.String(), "waiting for Gitea") {
			t.Errorf("no log line says it waits:\n%s", f.logs)
		}
		if n := len(f.rec.all()); n < 3 || n > 20 {
			t.Errorf("%d requests while waiting %s: want a handful (backoff), not a busy loop or a single try", n, delay)
		}
	})

	t.Run("Gitea never answers", func(t *testing.T) {
		f := newFixture(t, g, "unused")
		if err := g.Stop(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := g.Start(ctx); err != nil {
				t.Fatal(err)
			}
		})
		f.cfg.ReadyTimeout = 1500 * time.Millisecond
		begin := time.Now()
		err := f.seeder().WaitReady(f.with(ctx))
		if err == nil || !strings.Contains(err.Error(), "did not answer within 1.5s") || !strings.Contains(err.Error(), g.URL) {
			t.Fatalf("WaitReady = %v, want a bounded failure naming the URL", err)
		}
		if took := time.Since(begin); took > 5*time.Second {
			t.Errorf("gave up after %s, the bound is 1.5s", took)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		f := newFixture(t, g, "unused")
		f.cfg.URL = "http://127.0.0.1:1"
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		if err := f.seeder().WaitReady(cctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitReady = %v, want the context's error", err)
		}
	})

	passwords := []struct {
		name, user, password string
		wantFix              string
	}{
		{"wrong password", testenv.GiteaAdminUser, "not-the-password", "change-password"},
		{"unknown user", "nobody", "whatever", "change-password"},
	}
	for _, tt := range passwords {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, g, "unused")
			f.cfg.Admin, f.cfg.Password = tt.user, secret.New(tt.password)
			_, err := f.seeder().Seed(ctx)
			var ie *config.InputError
			if !errors.As(err, &ie) || !strings.Contains(ie.Msg, "rejected the password of admin "+tt.user) || !strings.Contains(ie.Fix(), tt.wantFix) {
				t.Fatalf("Seed = %v, want an input error about the password with a fix", err)
			}
			if strings.Contains(err.Error(), tt.password) {
				t.Error("the error shows the password")
			}
			if w := f.rec.writes(); len(w) != 0 {
				t.Errorf("writes with wrong credentials: %v", w)
			}
		})
	}

	t.Run("not an admin", func(t *testing.T) {
		f := newFixture(t, g, "unused")
		user := "learner-" + randomHex(t, 3)
		if _, _, err := f.admin.AdminCreateUser(sdk.CreateUserOption{Username: user, Email: user + "@example.test",
			Password: "a-user-password-1", MustChangePassword: new(false)}); err != nil {
			t.Fatal(err)
		}
		f.cfg.Admin, f.cfg.Password = user, secret.New("a-user-password-1")
		err := f.seeder().WaitReady(f.with(ctx))
		var ie *config.InputError
		if !errors.As(err, &ie) || !strings.Contains(ie.Msg, "not a site administrator") {
			t.Fatalf("WaitReady = %v, want an input error", err)
		}
	})
}

// errRestarted stands for the connection dropping because Gitea went away.
var errRestarted = errors.New("connection reset by peer (test: Gitea restarted)")

// TestRestartMidSeed stops Gitea at the worst moments of a seed: after it
// created something but before the answer arrived, or right before a
// request. The seed fails; Gitea comes back; the next seed converges with
// nothing lost or made twice.
func TestRestartMidSeed(t *testing.T) {
	g := testenv.Gitea(t)
	up := makeUpstream(t, g)
	ctx := context.Background()

	// A registered runner, as in a real install by the time of a re-run,
	// so the converged seed has nothing at all to write. It takes no jobs:
	// the subtests stop Gitea under it.
	{
		f := newFixture(t, g, up.URL)
		tok, err := f.seeder().RunnerToken(ctx)
		if err != nil {
			t.Fatal(err)
		}
		testenv.ActionsRunner(t, testenv.RunnerOptions{GiteaURL: g.URL, RegistrationToken: tok.Reveal(), RegisterOnly: true})
	}

	tests := []struct {
		name   string
		method string
		path   string // suffix of the request path
		lost   bool   // the request is served, its answer lost; else it never arrives
	}{
		{"org created, answer lost", "POST", "/api/v1/orgs", true},
		{"repository migrated, answer lost", "POST", "/api/v1/repos/migrate", true},
		{"Gitea gone before the migration", "POST", "/api/v1/repos/migrate", false},
		{"variable created, answer lost", "POST", "/actions/variables/CLOUD_PROVIDER", true},
		{"secret written, answer lost", "PUT", "/actions/secrets/HUMANITEC_TOKEN", true},
		{"trigger committed, answer lost", "POST", "/contents/" + TriggerPath, true},
	}
	// Gitea makes the workflow run from the trigger's push in a background
	// queue; stopped before it gets there, Gitea may drop the push, and
	// then no run ever comes (Gitea's durability, not the seed's). The
	// answer is lost after Gitea handled the commit in full.
	handled := func(t *testing.T, f *fixture) {
		testenv.Eventually(t, 30*time.Second, func() error {
			runs, _, err := f.admin.ListRepoActionRuns(f.cfg.Org, DefaultRepo, sdk.ListRepoActionRunsOptions{})
			if err == nil && runs.TotalCount == 0 {
				err = errors.New("no workflow run of the trigger commit yet")
			}
			return err
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, g, up.URL)
			// Short enough that the seed gives up on the stopped Gitea
			// instead of waiting for it.
			f.cfg.ReadyTimeout = time.Second
			hit := false
			match := func(req *http.Request) bool {
				if hit || req.Method != tt.method || !strings.HasSuffix(req.URL.Path, tt.path) {
					return false
				}
				hit = true
				if tt.path == "/contents/"+TriggerPath {
					handled(t, f)
				}
				if err := g.Stop(); err != nil {
					t.Errorf("stop Gitea: %v", err)
				}
				return true
			}
			if tt.lost {
				f.rec.setFaults(nil, func(req *http.Request, _ *http.Response) error {
					if match(req) {
						return errRestarted
					}
					return nil
				})
			} else {
				f.rec.setFaults(func(req *http.Request) error {
					if match(req) {
						return errRestarted
					}
					return nil
				}, nil)
			}
			_, err := f.seeder().Seed(ctx)
			if !hit {
				t.Fatalf("the fault never fired (seed: %v)", err)
			}
			if err == nil {
				t.Fatal("the seed succeeded although Gitea went away")
			}
			t.Logf("first seed failed as expected: %v", err)

			if err := g.Start(ctx); err != nil {
				t.Fatalf("restart Gitea: %v", err)
			}
			f.rec.reset()
			f.cfg.ReadyTimeout = time.Minute
			if _, err := f.seeder().Seed(ctx); err != nil {
				t.Fatalf("seed after the restart: %v\n%s", err, f.logs)
			}
			checkSeeded(t, f, up, up.Head, up.URL)
			repos, _, err := f.admin.ListOrgRepos(f.cfg.Org, sdk.ListOrgReposOptions{})
			if err != nil || len(repos) != 1 {
				t.Errorf("org repositories = %d (%v), want exactly 1", len(repos), err)
			}
			commits, _, err := f.admin.ListRepoCommits(f.cfg.Org, DefaultRepo, sdk.ListCommitOptions{Path: TriggerPath})
			if err != nil || len(commits) != 1 {
				t.Errorf("trigger commits = %d (%v), want exactly 1", len(commits), err)
			}

			f.rec.reset()
			if _, err := f.seeder().Seed(ctx); err != nil {
				t.Fatal(err)
			}
			if w := f.rec.writes(); len(w) != 0 {
				t.Errorf("the converged seed still writes: %v", w)
			}
		})
	}
}

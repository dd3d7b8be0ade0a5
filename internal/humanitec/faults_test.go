package humanitec

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/humanitec/humanitectest"
)

// Bad input is found by the first reads, before anything is created, and
// names the fix.
func TestCheckStopsBeforeAnythingIsCreated(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*humanitectest.Server)
		opts  []envOpt
		want  []string // in the message
		fix   string   // in the fix
	}{
		{
			name: "bad token",
			opts: []envOpt{withToken("hum-wrong-token")},
			want: []string{"does not accept the token", "401"},
			fix:  "HUMANITEC_TOKEN",
		},
		{
			name:  "wrong org",
			setup: func(s *humanitectest.Server) { s.AddOrg("my-real-org") },
			opts:  []envOpt{withOrg("my-typo-org")},
			want:  []string{`org "my-typo-org" does not exist or the token's user`, "403"},
			fix:   "the token's user is a member of: fake-org",
		},
		{
			name: "not an administrator",
			setup: func(s *humanitectest.Server) {
				s.AddUser("member-token", humanitectest.User{ID: "dev-1", Name: "a developer",
					Roles: map[string]string{"/orgs/" + humanitectest.DefaultOrg: humanitectest.RoleMember}})
			},
			opts: []envOpt{withToken("member-token")},
			want: []string{`has the role "member"`, "needs Administrator"},
			fix:  "Administrator role",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := humanitectest.New(t)
			if tc.setup != nil {
				tc.setup(fake)
			}
			e := newEnv(t, fake, tc.opts...)
			err := e.reg.RegisterAll(context.Background())
			var ie *config.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v (%T), want *config.InputError", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(ie.Msg, w) {
					t.Errorf("message %q lacks %q", ie.Msg, w)
				}
			}
			if !strings.Contains(ie.Fix(), tc.fix) {
				t.Errorf("fix %q lacks %q", ie.Fix(), tc.fix)
			}
			if w := fake.Writes(); len(w) != 0 {
				t.Errorf("writes after a failed check: %+v", w)
			}
			if strings.Contains(err.Error(), "hum-wrong-token") || strings.Contains(err.Error(), humanitectest.DefaultToken) {
				t.Errorf("the token shows in the error: %v", err)
			}
		})
	}
}

func TestForbiddenWriteNamesTheFix(t *testing.T) {
	fake := humanitectest.New(t)
	e := newEnv(t, fake)
	fake.Inject(humanitectest.Fault{Method: http.MethodPost, Path: "/orgs/fake-org/apps", Status: http.StatusForbidden, Times: -1})
	err := e.reg.RegisterAll(context.Background())
	if StatusOf(err) != http.StatusForbidden {
		t.Fatalf("err = %v, want a 403", err)
	}
	var f interface{ Fix() string }
	if !errors.As(err, &f) || !strings.Contains(f.Fix(), "Administrator role") {
		t.Errorf("no fix naming the role: %v", err)
	}
	// A 403 is not retried: the answer will not change.
	n := 0
	for _, c := range fake.Calls() {
		if c.Method == http.MethodPost && c.Path == "/orgs/fake-org/apps" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d app creates for 2 apps, want no retries", n)
	}
	for _, o := range e.objects() {
		if strings.HasPrefix(o, KindApp) {
			t.Errorf("state records %s though its create was refused", o)
		}
	}
}

func TestForeignObjectsAreNeverAdopted(t *testing.T) {
	bs := BackstageAppID(testInstall)
	cases := []struct {
		name  string
		setup func(*humanitectest.Server)
		want  string
		fix   string
	}{
		{
			name: "app with our id made by someone else",
			setup: func(s *humanitectest.Server) {
				s.SeedApp(humanitectest.DefaultOrg, humanitectest.App{ID: bs, Name: "Team Backstage", Envs: map[string]string{"prod": "production"}})
			},
			want: "app " + bs + " already exists and was not created by this install",
			fix:  "delete app " + bs,
		},
		{
			name: "409 on create: made between our read and our create",
			setup: func(s *humanitectest.Server) {
				s.OnRequest(func(r *http.Request) {
					if r.Method == http.MethodPost && r.URL.Path == "/orgs/fake-org/apps" {
						s.SeedApp(humanitectest.DefaultOrg, humanitectest.App{ID: bs, Name: "raced in"})
					}
				})
			},
			want: `it is named "raced in"`,
			fix:  "delete app " + bs,
		},
		{
			name: "409 on create: criteria held by another install's leftover",
			setup: func(s *humanitectest.Server) {
				s.SeedDefinition(humanitectest.DefaultOrg, humanitectest.Definition{
					ID: "5min-idp-zzzz-k8s-namespace", Name: "5min-idp-zzzz-k8s-namespace", Type: "k8s-namespace",
					DriverType: "humanitec/echo", Criteria: []map[string]string{{"env_type": EnvTypeID}}})
			},
			want: "already used by resource definition 5min-idp-zzzz-k8s-namespace",
			fix:  "--include-tutorial-objects",
		},
		{
			name: "agent with our id made by someone else",
			setup: func(s *humanitectest.Server) {
				k, _ := agentKeyOf(agentTestKey(t), "")
				s.SeedAgent(humanitectest.DefaultOrg, AgentID(testInstall), "their agent", k.PublicPEM)
			},
			want: "agent " + AgentID(testInstall) + " already exists",
			fix:  "delete agent",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := humanitectest.New(t)
			tc.setup(fake)
			before := fake.Objects(humanitectest.DefaultOrg)
			e := newEnv(t, fake)
			err := e.reg.RegisterAll(context.Background())
			var ce *ConflictError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *ConflictError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
			if !strings.Contains(ce.Fix(), tc.fix) {
				t.Errorf("fix %q lacks %q", ce.Fix(), tc.fix)
			}
			// What was there is untouched: no write went to its path.
			after := fake.Objects(humanitectest.DefaultOrg)
			for _, o := range before {
				if !slices.Contains(after, o) {
					t.Errorf("%s was changed or removed", o)
				}
			}
			for _, c := range fake.Writes() {
				if c.Status < 300 && (strings.HasSuffix(c.Path, "/"+ce.ID) || strings.Contains(c.Path, "/"+ce.ID+"/")) {
					t.Errorf("write to the foreign object: %+v", c)
				}
			}
			if e.store.HasObject(KindApp, bs) && ce.ID == bs {
				t.Error("the foreign app was recorded in the state")
			}
		})
	}
}

func TestRateLimitStormGivesUpAfterBoundedRetries(t *testing.T) {
	fake := humanitectest.New(t)
	e := newEnv(t, fake)
	fake.Inject(humanitectest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "2", Times: -1})
	err := e.reg.Check(context.Background())
	if StatusOf(err) != http.StatusTooManyRequests || !strings.Contains(err.Error(), "gave up after 6 attempts") {
		t.Fatalf("err = %v, want a 429 after 6 attempts", err)
	}
	// Two reads at once, each tried 6 times, each wait honouring
	// Retry-After (plus at most a quarter of the base delay).
	calls := fake.Calls()
	if len(calls) != 12 {
		t.Errorf("%d calls, want 12", len(calls))
	}
	waits := e.sleeps.waits()
	if len(waits) != 10 {
		t.Errorf("%d waits, want 10: %v", len(waits), waits)
	}
	for _, w := range waits {
		if w < 2*time.Second || w > 2*time.Second+125*time.Millisecond {
			t.Errorf("wait %s does not honour Retry-After: 2", w)
		}
	}
	var f interface{ Fix() string }
	if !errors.As(err, &f) || !strings.Contains(f.Fix(), "rate limiting") {
		t.Errorf("no fix for the rate limit: %v", err)
	}
}

func TestRetryAfterLongerThanAllowedEndsTheRetries(t *testing.T) {
	fake := humanitectest.New(t)
	e := newEnv(t, fake)
	fake.Inject(humanitectest.Fault{Path: "/current-user", Status: http.StatusTooManyRequests, RetryAfter: "3600", Times: -1})
	err := e.reg.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "asked to wait 1h0m0s") {
		t.Fatalf("err = %v", err)
	}
	if n := len(e.sleeps.waits()); n != 0 {
		t.Errorf("waited %d times", n)
	}
}

func TestServerErrorsThenSuccess(t *testing.T) {
	fake := humanitectest.New(t)
	e := newEnv(t, fake)
	fake.Inject(humanitectest.Fault{Method: http.MethodPost, Path: "/orgs/fake-org/env-types", Status: 500, Times: 2})
	fake.Inject(humanitectest.Fault{Method: http.MethodPost, Path: "/orgs/fake-org/env-types", Status: 503, Times: 1})
	if err := e.reg.RegisterAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := withoutKeys(fake.Objects(humanitectest.DefaultOrg)); !slices.Equal(got, registered()) {
		t.Errorf("objects = %q", got)
	}
	// Exponential backoff with jitter 0.5: 3/4 of 0.5s, 1s, 2s.
	want := []time.Duration{375 * time.Millisecond, 750 * time.Millisecond, 1500 * time.Millisecond}
	got := e.sleeps.waits()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
}

func TestConnectionReset(t *testing.T) {
	bs := BackstageAppID(testInstall)
	t.Run("before the request is handled: retried", func(t *testing.T) {
		fake := humanitectest.New(t)
		e := newEnv(t, fake)
		fake.Inject(humanitectest.Fault{Method: http.MethodPost, Path: "/orgs/fake-org/agents", Reset: true, Times: 2})
		if err := e.reg.RegisterAll(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !e.store.HasObject(KindAgent, AgentID(testInstall)) {
			t.Error("agent not recorded")
		}
		if n := len(e.sleeps.waits()); n != 2 {
			t.Errorf("%d retries, want 2", n)
		}
	})
	t.Run("after the request was handled: the retry's 409 is adopted", func(t *testing.T) {
		fake := humanitectest.New(t)
		e := newEnv(t, fake)
		fake.Inject(humanitectest.Fault{Method: http.MethodPost, Path: "/orgs/fake-org/apps", ResetAfter: true})
		if err := e.reg.RegisterAll(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := withoutKeys(fake.Objects(humanitectest.DefaultOrg)); !slices.Equal(got, registered()) {
			t.Errorf("objects = %q", got)
		}
		conflicts := 0
		for _, c := range fake.Calls() {
			if c.Status == http.StatusConflict {
				conflicts++
			}
		}
		if conflicts != 1 {
			t.Errorf("%d conflicts, want the one retry's", conflicts)
		}
		if !e.store.HasObject(KindApp, bs) || !e.store.HasObject(KindApp, AppID(testInstall)) {
			t.Errorf("apps not both recorded: %q", e.objects())
		}
	})
	t.Run("every attempt reset: named failure", func(t *testing.T) {
		fake := humanitectest.New(t)
		e := newEnv(t, fake)
		fake.Inject(humanitectest.Fault{Path: "/current-user", Reset: true, Times: -1})
		err := e.reg.Check(context.Background())
		var ne *NetError
		if !errors.As(err, &ne) || !strings.Contains(err.Error(), "gave up after 6 attempts") {
			t.Fatalf("err = %v, want a NetError after 6 attempts", err)
		}
		if !strings.Contains(err.Error(), "connection") {
			t.Errorf("error does not say the connection failed: %v", err)
		}
	})
}

func TestContextDeadline(t *testing.T) {
	fake := humanitectest.New(t, humanitectest.WithLatency(2*time.Second))
	e := newEnv(t, fake)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := e.reg.Check(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %s past a 50ms deadline", d)
	}
}

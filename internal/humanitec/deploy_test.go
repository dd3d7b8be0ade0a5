package humanitec

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pocketidp/pocketidp/internal/humanitec/humanitectest"
)

// startDeploy plays Backstage's CI (humctl score deploy): it starts a
// deployment of app through the API, as DeploymentRequest.
func startDeploy(ctx context.Context, c *Client, app, comment string) (Deploy, error) {
	var d Deploy
	in := map[string]string{"comment": comment, "delta_id": "df1ad41807b0390a9b0eaf8688e1f5baece9d764"}
	return d, c.do(ctx, http.MethodPost, c.orgPath("apps", app, "envs", EnvID, "deploys"), nil, in, &d)
}

// registerApps makes the install's env type and apps, as `up` does before
// it triggers the Backstage build.
func registerApps(t *testing.T, e *env) {
	t.Helper()
	for _, g := range []Group{GroupEnvType, GroupApps} {
		if err := e.reg.Ensure(context.Background(), g); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDeployment(t *testing.T) {
	const host = "5min-backstage-abcd-x7k2.localhost"
	org, app := humanitectest.DefaultOrg, BackstageAppID(testInstall)
	script := func(s *humanitectest.Server, sc humanitectest.DeployScript) { s.ScriptDeploys(org, app, EnvID, sc) }
	cases := []struct {
		name string
		// ci acts for Backstage's CI after since; it may use the client
		// or the fake directly.
		ci func(t *testing.T, e *env, since time.Time)
		// ago puts since that far in the past.
		ago          time.Duration
		unregistered bool // the apps were never made (or were deleted)
		found        bool
		status       string
		host         string
		errors       []string
		summary      []string // in Summary
		faults       int      // calls answered by an injected fault
		wantErr      []string // in the error
	}{
		{
			name: "none yet",
			ci:   func(*testing.T, *env, time.Time) {},
		},
		{
			name: "in progress",
			ci: func(t *testing.T, e *env, _ time.Time) {
				if _, err := startDeploy(context.Background(), e.client, app, "Add the 5min templates\n\nlong body"); err != nil {
					t.Fatal(err)
				}
			},
			found: true, status: DeployInProgress,
			summary: []string{"of " + app, `("Add the 5min templates")`, "is in progress"},
		},
		{
			name: "succeeded",
			ci: func(t *testing.T, e *env, _ time.Time) {
				script(e.fake, humanitectest.DeployScript{Host: host})
				if _, err := startDeploy(context.Background(), e.client, app, "build 1"); err != nil {
					t.Fatal(err)
				}
			},
			found: true, status: DeploySucceeded, host: host,
			summary: []string{"succeeded: " + host},
		},
		{
			name: "succeeded without a dns resource",
			ci: func(t *testing.T, e *env, _ time.Time) {
				script(e.fake, humanitectest.DeployScript{})
				if _, err := startDeploy(context.Background(), e.client, app, "build 1"); err != nil {
					t.Fatal(err)
				}
			},
			found: true, status: DeploySucceeded,
			summary: []string{"no dns resource"},
		},
		{
			name: "failed",
			ci: func(t *testing.T, e *env, _ time.Time) {
				script(e.fake, humanitectest.DeployScript{Fail: true, Errors: []humanitectest.DeployError{
					{Scope: "workload", ObjectID: "backstage", Code: "CON-001", Summary: "Container failed", Message: "ImagePullBackOff: registry.localhost/backstage:1a2b3c4"},
					{Scope: "resource", ObjectID: "modules.backstage.externals.db", Code: "RES-002", Summary: "Timeout", Message: "Timeout"},
				}})
				if _, err := startDeploy(context.Background(), e.client, app, "build 1"); err != nil {
					t.Fatal(err)
				}
			},
			found: true, status: DeployFailed,
			errors: []string{
				"workload backstage: Container failed: ImagePullBackOff: registry.localhost/backstage:1a2b3c4 (CON-001)",
				"resource modules.backstage.externals.db: Timeout (RES-002)",
			},
			summary: []string{"failed: workload backstage: Container failed: ImagePullBackOff", "(and 1 more)"},
		},
		{
			name: "older than since: ignored",
			ci: func(t *testing.T, e *env, since time.Time) {
				e.fake.SeedDeploy(org, app, EnvID, humanitectest.Deploy{Comment: "yesterday", CreatedAt: since.Add(-24 * time.Hour),
					Script: &humanitectest.DeployScript{Host: "old.localhost"}})
			},
		},
		{
			name: "the newest of those since",
			ago:  time.Hour,
			ci: func(t *testing.T, e *env, since time.Time) {
				for _, d := range []struct {
					comment string
					at      time.Duration // after since
				}{{"before", -time.Minute}, {"after 1", time.Minute}, {"after 3", 30 * time.Minute}, {"after 2", 10 * time.Minute}} {
					e.fake.SeedDeploy(org, app, EnvID, humanitectest.Deploy{Comment: d.comment, CreatedAt: since.Add(d.at),
						Script: &humanitectest.DeployScript{Host: strings.ReplaceAll(d.comment, " ", "-") + ".localhost"}})
				}
			},
			found: true, status: DeploySucceeded, host: "after-3.localhost",
			summary: []string{`("after 3")`},
		},
		{
			// The API's timestamps have no more than milliseconds, often
			// seconds: a deployment in the same second as since counts.
			name: "made in the same second as since",
			ci: func(t *testing.T, e *env, since time.Time) {
				e.fake.SeedDeploy(org, app, EnvID, humanitectest.Deploy{CreatedAt: since.Truncate(time.Second)})
			},
			found: true, status: DeployInProgress,
		},
		{
			name: "a rate limit and a server error on the way",
			ci: func(t *testing.T, e *env, _ time.Time) {
				script(e.fake, humanitectest.DeployScript{Host: host})
				if _, err := startDeploy(context.Background(), e.client, app, "build 1"); err != nil {
					t.Fatal(err)
				}
				p := "/orgs/" + org + "/apps/" + app + "/envs/" + EnvID
				e.fake.Inject(humanitectest.Fault{Method: http.MethodGet, Path: p + "/deploys", Status: http.StatusTooManyRequests, RetryAfter: "1"})
				e.fake.Inject(humanitectest.Fault{Method: http.MethodGet, Path: p + "/resources", Status: http.StatusBadGateway})
			},
			found: true, status: DeploySucceeded, host: host, faults: 2,
		},
		{
			name:         "app missing",
			unregistered: true,
			wantErr:      []string{"Humanitec app " + app + " does not exist", "404"},
		},
		{
			name:         "environment missing",
			unregistered: true,
			ci: func(t *testing.T, e *env, _ time.Time) {
				e.fake.SeedApp(org, humanitectest.App{ID: app, Name: app, Envs: map[string]string{"development": "development"}})
			},
			wantErr: []string{"Humanitec app " + app + " has no environment " + EnvID, "404"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := humanitectest.New(t)
			e := newEnv(t, fake)
			if !tc.unregistered {
				registerApps(t, e)
			}
			since := time.Now().Add(-tc.ago)
			if tc.ci != nil {
				tc.ci(t, e, since)
			}
			fake.ResetCalls()
			d, found, err := e.reg.Deployment(context.Background(), app, since)
			if w := fake.Writes(); len(w) != 0 {
				t.Errorf("following the deployment wrote: %+v", w)
			}
			var faults int
			for _, c := range fake.Calls() {
				if c.Fault != "" {
					faults++
				}
			}
			if faults != tc.faults {
				t.Errorf("%d calls answered by a fault, want %d", faults, tc.faults)
			}
			if len(tc.wantErr) > 0 {
				var me *MissingAppError
				if !errors.As(err, &me) {
					t.Fatalf("err = %v (%T), want a *MissingAppError", err, err)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				if !IsNotFound(err) {
					t.Errorf("the 404 is lost: %v", err)
				}
				// up brings the app back empty: the fix must also say how
				// Backstage gets deployed into it again.
				for _, w := range []string{"pocketidp up", "push a commit to 5minorg/backstage", "Actions tab"} {
					if !strings.Contains(me.Fix(), w) {
						t.Errorf("fix %q lacks %q", me.Fix(), w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if found != tc.found {
				t.Fatalf("found = %v (%+v), want %v", found, d, tc.found)
			}
			if !found {
				if d.ID != "" {
					t.Errorf("not found, yet a deployment: %+v", d)
				}
				return
			}
			if d.ID == "" || d.App != app || d.Status != tc.status || d.Host != tc.host || !slices.Equal(d.Errors, tc.errors) {
				t.Errorf("deployment = %+v;\nwant status %q, host %q, errors %q", d, tc.status, tc.host, tc.errors)
			}
			if d.CreatedAt.Before(since.Truncate(time.Second)) {
				t.Errorf("created at %s, before since %s", d.CreatedAt, since)
			}
			finished := tc.status == DeploySucceeded || tc.status == DeployFailed
			if d.Finished() != finished || d.Succeeded() != (tc.status == DeploySucceeded) {
				t.Errorf("Finished() = %v, Succeeded() = %v for status %q", d.Finished(), d.Succeeded(), d.Status)
			}
			sum := d.Summary()
			if !strings.Contains(sum, d.ID) || strings.Contains(sum, "\n") {
				t.Errorf("summary %q does not name the deployment on one line", sum)
			}
			for _, w := range tc.summary {
				if !strings.Contains(sum, w) {
					t.Errorf("summary %q lacks %q", sum, w)
				}
			}
		})
	}
}

// A deployment is followed from its start to its end by polling, through
// the fake's simulated round trip.
func TestDeploymentFollowedToTheEnd(t *testing.T) {
	const host = "5min-backstage-abcd-q9z1.localhost"
	fake := humanitectest.New(t, humanitectest.WithLatency(2*time.Millisecond))
	e := newEnv(t, fake)
	registerApps(t, e)
	app := BackstageAppID(testInstall)
	ctx := context.Background()
	since := time.Now()
	// A second in progress: wide enough that a loaded machine's first read
	// still finds it so.
	const inProgress = time.Second
	fake.ScriptDeploys(humanitectest.DefaultOrg, app, EnvID, humanitectest.DeployScript{InProgressFor: inProgress, Host: host})
	started, err := startDeploy(ctx, e.client, app, "build 1")
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, found, err := e.reg.Deployment(ctx, app, since)
		if err != nil {
			t.Fatal(err)
		}
		if !found || d.ID != started.ID {
			t.Fatalf("found = %v, deployment %+v; want the one started, %s", found, d, started.ID)
		}
		if len(seen) == 0 || seen[len(seen)-1] != d.Status {
			seen = append(seen, d.Status)
		}
		if d.Finished() {
			if !d.Succeeded() || d.Host != host {
				t.Fatalf("finished as %+v, want succeeded at %s", d, host)
			}
			// The API's times are to the millisecond.
			if got := d.StatusChangedAt.Sub(d.CreatedAt); got < inProgress-time.Millisecond || got > inProgress+time.Millisecond {
				t.Errorf("status changed %s after the start, want the scripted %s", got, inProgress)
			}
			if u := URL(d.Host, 8443); u != "https://"+host+":8443" {
				t.Errorf("URL = %q", u)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %q after 10s", d.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if want := []string{DeployInProgress, DeploySucceeded}; !slices.Equal(seen, want) {
		t.Errorf("statuses seen %q, want %q", seen, want)
	}
}

// The client's calls, read back against what the fake holds.
func TestDeploymentCalls(t *testing.T) {
	fake := humanitectest.New(t)
	e := newEnv(t, fake)
	registerApps(t, e)
	app, c, ctx := BackstageAppID(testInstall), e.client, context.Background()

	fake.ScriptDeploys(humanitectest.DefaultOrg, app, EnvID, humanitectest.DeployScript{Host: "b.localhost"})
	started, err := startDeploy(ctx, c, app, "first")
	if err != nil {
		t.Fatal(err)
	}
	if started.Status != DeployInProgress || started.EnvID != EnvID || started.CreatedAt.IsZero() {
		t.Errorf("started %+v, want in progress in %s", started, EnvID)
	}
	if _, err := startDeploy(ctx, c, app, "second"); err != nil {
		t.Fatal(err)
	}

	list, err := c.Deployments(ctx, app, EnvID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Comment != "second" || list[1].ID != started.ID {
		t.Errorf("deployments = %+v, want second then first", list)
	}
	got, err := c.Deployment(ctx, app, EnvID, started.ID)
	if err != nil || got.ID != started.ID || got.Status != DeploySucceeded || got.Comment != "first" || !got.CreatedAt.Equal(started.CreatedAt) {
		t.Errorf("Deployment(%s) = %+v, %v; want it succeeded", started.ID, got, err)
	}
	if errs, err := c.DeploymentErrors(ctx, app, EnvID, started.ID); err != nil || len(errs) != 0 {
		t.Errorf("errors of a success = %+v, %v; want none", errs, err)
	}
	res, err := c.ActiveResources(ctx, app, EnvID)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Type != "dns" || res[0].ResID != humanitectest.DefaultDNSResID || res[0].Resource["host"] != "b.localhost" {
		t.Errorf("active resources = %+v, want the dns resource with host b.localhost", res)
	}
	if _, err := c.Deployment(ctx, app, EnvID, "no-such-deploy"); !IsNotFound(err) {
		t.Errorf("unknown deployment: err = %v, want a 404", err)
	}
}

func TestRouteHost(t *testing.T) {
	dns := func(resID, host string) ActiveResource {
		return ActiveResource{Type: "dns", ResID: resID, Resource: map[string]any{"host": host}}
	}
	cases := []struct {
		name string
		res  []ActiveResource
		want string
	}{
		{"none", nil, ""},
		{"not dns", []ActiveResource{{Type: "postgres", ResID: "modules.backstage.externals.db", Resource: map[string]any{"host": "pg-x"}}}, ""},
		{"the workload's", []ActiveResource{dns("modules.backstage.externals.dns", "b.localhost")}, "b.localhost"},
		{"the workload's over a shared one", []ActiveResource{dns("shared.dns", "s.localhost"), dns("modules.backstage.externals.dns", "b.localhost")}, "b.localhost"},
		{"else the first", []ActiveResource{dns("shared.dns", "s.localhost"), dns("shared.other", "o.localhost")}, "s.localhost"},
		{"first of two workloads", []ActiveResource{dns("modules.a.externals.dns", "a.localhost"), dns("modules.b.externals.dns", "b.localhost")}, "a.localhost"},
		{"no host, or going", []ActiveResource{
			{Type: "dns", ResID: "modules.backstage.externals.dns", Resource: map[string]any{}},
			{Type: "dns", ResID: "modules.old.externals.dns", Resource: map[string]any{"host": "old.localhost"}, ScheduledDeletion: true},
			dns("shared.dns", "s.localhost"),
		}, "s.localhost"},
	}
	for _, tc := range cases {
		if got := routeHost(tc.res); got != tc.want {
			t.Errorf("%s: routeHost = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestURL(t *testing.T) {
	cases := []struct {
		host string
		port int
		want string
	}{
		{"5min-backstage-abcd-x7k2.localhost", 8443, "https://5min-backstage-abcd-x7k2.localhost:8443"},
		{"b.localhost", 443, "https://b.localhost:443"},
		{"", 8443, ""},
	}
	for _, tc := range cases {
		if got := URL(tc.host, tc.port); got != tc.want {
			t.Errorf("URL(%q, %d) = %q, want %q", tc.host, tc.port, got, tc.want)
		}
	}
}

func TestDeploymentSummary(t *testing.T) {
	cases := []struct {
		d    Deployment
		want string
	}{
		{Deployment{ID: "d1", App: "a", Status: DeployPending}, "Humanitec deployment d1 of a is waiting to start"},
		{Deployment{ID: "d1", App: "a", Status: DeployFailed}, "Humanitec deployment d1 of a failed (Humanitec lists no errors)"},
		{Deployment{ID: "d1", App: "a", Status: DeployFailed, Errors: []string{"workload w: broke (X-1)"}}, "Humanitec deployment d1 of a failed: workload w: broke (X-1)"},
		{Deployment{ID: "d1", App: "a", Status: "queued", Comment: strings.Repeat("x", 80)},
			`Humanitec deployment d1 of a ("` + strings.Repeat("x", 59) + `…") has status "queued"`},
	}
	for _, tc := range cases {
		if got := tc.d.Summary(); got != tc.want {
			t.Errorf("Summary(%+v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

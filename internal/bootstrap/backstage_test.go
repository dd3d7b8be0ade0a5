package bootstrap

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/gitea"
	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/humanitec/humanitectest"
	"github.com/pocketidp/pocketidp/internal/testenv"
)

func TestBackstageStepsPlan(t *testing.T) {
	for _, tt := range []struct {
		name       string
		wait, skip bool
		want       []string
	}{
		{"no --wait: one look", false, false, []string{StepBackstageRoute}},
		{"--wait", true, false, []string{StepBackstageBuild, StepBackstageDeploy, StepBackstageReady}},
		{"--wait without Humanitec", true, true, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := config.Defaults()
			o.Wait, o.SkipHumanitec = tt.wait, tt.skip
			var got []string
			for _, s := range backstageSteps(&Install{Options: o}) {
				got = append(got, s.Action.Name())
				if tt.wait && s.Timeout <= o.WaitTimeout {
					t.Errorf("%s: timeout %s cuts the shared --wait-timeout %s short", s.Action.Name(), s.Timeout, o.WaitTimeout)
				}
				if _, undoes := s.Action.(Undoer); undoes {
					t.Errorf("%s has an Undo: following a build changes nothing to take back", s.Action.Name())
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("steps = %v, want %v", got, tt.want)
			}
		})
	}
}

// backstageWorkflow is the stand-in of Backstage's deploy workflow: the
// step names are what a failure must name.
const backstageWorkflow = `name: Deploy Backstage
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - name: Build image
        run: docker build -t localhost:5001/backstage .
      - name: Deploy with Humanitec
        run: humctl score deploy
`

// TestBackstageSteps follows the Backstage build through the engine with
// real parts: Gitea runs the workflow of the trigger commit on a runner
// speaking its protocol, the job deploys to the Humanitec fake as the CI's
// humctl would, and the ready step reaches Backstage through an ingress
// serving the TLS Secret from a real API server.
func TestBackstageSteps(t *testing.T) {
	t.Parallel()
	const host = "5min-backstage-test-abcd.localhost"
	for _, tt := range []struct {
		name string
		// workflow is the upstream's workflow; empty means none.
		workflow string
		// runner: none, "ok" (deploys), or a step name to fail.
		runner  string
		deploy  humanitectest.DeployScript
		wait    time.Duration
		failed  string   // the step that fails; empty means all pass
		message []string // what its error says
		fix     []string // what its fix says
	}{
		{
			name: "deployed and answering", workflow: backstageWorkflow, runner: "ok",
			deploy: humanitectest.DeployScript{Host: host},
		},
		{
			name: "build fails", workflow: backstageWorkflow, runner: "Build image",
			failed:  StepBackstageBuild,
			message: []string{"the Backstage build (run #", "failed: job deploy, step Build image"},
			fix:     []string{"read the log at http://127.0.0.1:", "/5minorg/backstage/actions/runs/", "/jobs/", "up --wait"},
		},
		{
			name: "deployment fails", workflow: backstageWorkflow, runner: "ok",
			deploy: humanitectest.DeployScript{Fail: true, Errors: []humanitectest.DeployError{{
				Scope: "workload", ObjectID: "backstage", Code: "HUM-PROVISION", Summary: "image pull failed", Message: "localhost:5001/backstage:abc not found", ErrorType: "provision",
			}}},
			failed:  StepBackstageDeploy,
			message: []string{"Humanitec deployment", "failed", "image pull failed", "localhost:5001/backstage:abc not found"},
			fix:     []string{"https://app.humanitec.io/orgs/" + humanitectest.DefaultOrg + "/apps/5min-backstage-", "/envs/5min-local"},
		},
		{
			name: "no workflow, no run", runner: "ok",
			failed:  StepBackstageBuild,
			message: []string{"Gitea started no Actions run for commit"},
			fix:     []string{".gitea/workflows", "/5minorg/backstage/actions", "push a commit", "pocketidp up --wait"},
		},
		{
			name: "a host no certificate can name", workflow: backstageWorkflow, runner: "ok",
			deploy:  humanitectest.DeployScript{Host: "*.localhost"},
			failed:  StepBackstageDeploy,
			message: []string{`gave Backstage the host "*.localhost", which no certificate can name`},
			fix:     []string{"dns definition 5min-idp-", "dns-localhost"},
		},
		{
			name: "no runner: --wait-timeout", workflow: backstageWorkflow, wait: 2 * time.Second,
			failed:  StepBackstageBuild,
			message: []string{"not done within --wait-timeout 2s", "queued: waiting for a runner"},
			fix:     []string{"follow it at https://git.localhost:", "--wait-timeout"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			g := testenv.Gitea(t)
			hum := humanitectest.New(t)
			in := backstageInstall(t, g, hum, tt.workflow)
			// A broken step should fail here, not at go test's deadline.
			in.Options.Wait, in.Options.WaitTimeout = true, 90*time.Second
			if tt.wait > 0 {
				in.Options.WaitTimeout = tt.wait
			}
			in.Backstage = BackstageInput{Poll: 200 * time.Millisecond, Appear: 5 * time.Second}
			id := in.Store.InstallID()
			app := humanitec.BackstageAppID(id)
			hum.SeedApp(humanitectest.DefaultOrg, humanitectest.App{ID: app, Name: app, Envs: map[string]string{config.EnvType: config.EnvType}})
			// A deployment stays in progress until scripted: a failing one
			// from the start, a succeeding one once the deploy step has
			// seen it in progress (so the step is not skipped by a build
			// slow enough for the deployment to finish before it).
			if tt.deploy.Fail {
				hum.ScriptDeploys(humanitectest.DefaultOrg, app, config.EnvType, tt.deploy)
			}
			// Likewise the runner holds the job until the build step has
			// seen it in progress.
			var finish, started sync.Once
			release := make(chan struct{})
			watch := SinkFunc(func(e Event) {
				if e.Kind != Progress || !strings.Contains(e.Message, "in progress") {
					return
				}
				switch {
				case e.Step == StepBackstageBuild:
					started.Do(func() { close(release) })
				case e.Step == StepBackstageDeploy && tt.deploy.Host != "":
					finish.Do(func() { hum.ScriptDeploys(humanitectest.DefaultOrg, app, config.EnvType, tt.deploy) })
				}
			})

			var ing *testenv.Ingress
			if tt.failed == "" {
				api := testenv.APIServer(t)
				in.Options.Kubeconfig, in.Options.Context = api.KubeconfigPath, testenv.KubeContext
				cs, err := api.Clientset()
				if err != nil {
					t.Fatal(err)
				}
				ing = testenv.StartIngress(t, cs, TLSSecret.Namespace, TLSSecret.Name)
				ing.Route(host, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<title>Backstage</title>") }))
				in.Options.Port = ing.Port
			}

			// Gitea first: the runner registers with the token the
			// runner-token step got, as the runner chart does.
			giteaRun, _, err := runStepsBy(ctx, in, nil, giteaSteps(in))
			if err != nil {
				t.Fatal(err)
			}
			if tt.runner != "" {
				outcome := testenv.FailStepNamed("deploy", tt.runner)
				if tt.runner == "ok" {
					outcome = func(task testenv.RunnerTask) testenv.TaskOutcome {
						// The job's humctl: a deployment of the app.
						if err := humanitectest.CIDeploy(hum.URL, task.Vars, task.Secrets); err != nil {
							t.Error(err)
						}
						return testenv.TaskOutcome{HoldStep: 1, Release: release}
					}
				}
				testenv.ActionsRunner(t, testenv.RunnerOptions{GiteaURL: g.URL, RegistrationToken: registrationToken(t, giteaRun), Outcome: outcome})
			} else {
				// Without a runner the run stays queued: let Gitea make it
				// first, so that the state seen last is the queue.
				waitForRun(t, g)
			}

			events, err := runSteps(ctx, in, watch, append(giteaSteps(in), backstageSteps(in)...))
			last := finalEvents(events)
			if tt.failed == "" {
				if err != nil {
					t.Fatalf("run: %v\n%v", err, events)
				}
				for _, s := range backstageSteps(in) {
					if k := last[s.Action.Name()].Kind; k != Done {
						t.Errorf("%s ended %q, want done", s.Action.Name(), k)
					}
				}
				url := "https://" + host + ":" + strconv.Itoa(in.Options.Port)
				if got := in.Store.Value(ValueBackstageURL); got != url {
					t.Errorf("recorded URL %q, want %q", got, url)
				}
				if got := ing.Hosts(); len(got) == 0 || got[len(got)-1] != host {
					t.Errorf("the ingress saw hosts %v, want the last request for %s", got, host)
				}
				assertCertCovers(t, ing, host)
				if !progressSays(events, StepBackstageBuild, "run #") || !progressSays(events, StepBackstageDeploy, "in progress") {
					t.Errorf("no progress of the run and the deployment was shown:\n%v", events)
				}

				// A re-run finds the build and deployment done and checks
				// that Backstage still answers.
				events, err = runSteps(ctx, in, nil, append(giteaSteps(in), backstageSteps(in)...))
				if err != nil {
					t.Fatalf("re-run: %v", err)
				}
				last = finalEvents(events)
				for name, want := range map[string]Kind{StepBackstageBuild: Skipped, StepBackstageDeploy: Skipped, StepBackstageReady: Done} {
					if k := last[name].Kind; k != want {
						t.Errorf("re-run: %s ended %q, want %q", name, k, want)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("the run passed, want %s to fail", tt.failed)
			}
			ev := last[tt.failed]
			if ev.Kind != Failed {
				t.Fatalf("%s ended %q, want failed; events:\n%v", tt.failed, ev.Kind, events)
			}
			for _, w := range tt.message {
				if !strings.Contains(ev.Message, w) {
					t.Errorf("error %q does not say %q", ev.Message, w)
				}
			}
			for _, w := range tt.fix {
				if !strings.Contains(ev.Fix, w) {
					t.Errorf("fix %q does not say %q", ev.Fix, w)
				}
			}
		})
	}
}

// TestBackstageRoute: without --wait, up looks once. Before the deployment
// it says how to get the URL later and records nothing; once Humanitec has
// deployed Backstage, the next up records the URL and the certificate the
// ingress serves names the host. The run after that has nothing to do.
func TestBackstageRoute(t *testing.T) {
	t.Parallel()
	const host = "5min-backstage-route-wxyz.localhost"
	ctx := context.Background()
	hum := humanitectest.New(t)
	in := humInstall(t, hum, humanitectest.DefaultToken)
	api := testenv.APIServer(t)
	in.Options.Kubeconfig, in.Options.Context = api.KubeconfigPath, testenv.KubeContext
	cs, err := api.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ing := testenv.StartIngress(t, cs, TLSSecret.Namespace, TLSSecret.Name)
	in.Options.Port = ing.Port
	if _, err := humRun(t, in, false); err != nil {
		t.Fatalf("register with Humanitec: %v", err)
	}
	// The certificate step and the route step; the route's need (Gitea's
	// trigger) is not in this plan, so it needs the certificate instead.
	routeOnly := func() []Step {
		route := backstageSteps(in)[0]
		route.Needs = []string{StepTLS}
		return []Step{{Action: tlsStep{in}}, route}
	}

	events, err := runSteps(ctx, in, nil, routeOnly())
	if err != nil {
		t.Fatalf("before the deployment: %v", err)
	}
	if got := in.Store.Value(ValueBackstageURL); got != "" {
		t.Errorf("URL %q recorded before any deployment", got)
	}
	if !logSays(events, StepBackstageRoute, "not deployed yet") || !logSays(events, StepBackstageRoute, "pocketidp up --wait") {
		t.Errorf("no word on how to get Backstage's URL later:\n%v", events)
	}

	app := humanitec.BackstageAppID(in.Store.InstallID())
	hum.SeedDeploy(humanitectest.DefaultOrg, app, config.EnvType, humanitectest.Deploy{Script: &humanitectest.DeployScript{Host: host}})
	if _, err := runSteps(ctx, in, nil, routeOnly()); err != nil {
		t.Fatalf("after the deployment: %v", err)
	}
	if got, want := in.Store.Value(ValueBackstageURL), "https://"+host+":"+strconv.Itoa(ing.Port); got != want {
		t.Errorf("URL %q, want %q", got, want)
	}
	assertCertCovers(t, ing, host)

	events, err = runSteps(ctx, in, nil, routeOnly())
	if err != nil {
		t.Fatal(err)
	}
	if k := finalEvents(events)[StepBackstageRoute].Kind; k != Skipped {
		t.Errorf("third run: route %q, want skipped", k)
	}
}

func logSays(events []Event, step, text string) bool {
	for _, e := range events {
		if e.Step == step && e.Kind == Log && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}

// backstageInstall is an install whose Backstage repository Gitea migrates
// from an upstream in the same Gitea (upstreamRepo).
func backstageInstall(t *testing.T, g *testenv.GiteaServer, hum *humanitectest.Server, workflow string) *Install {
	t.Helper()
	up := upstreamRepo(t, g, workflow)
	in := humInstall(t, hum, humanitectest.DefaultToken)
	in.Options.Kubeconfig = "/dev/null" // an existing cluster, unless the test gives one
	in.Options.BackstageRepo = up.CloneURL
	in.Gitea = GiteaInput{URL: g.URL, HTTPClient: &http.Client{}}
	return in
}

// runSteps runs steps as one plan, recording the events (also sent to
// watch, when not nil).
func runSteps(ctx context.Context, in *Install, watch Sink, steps []Step) ([]Event, error) {
	_, events, err := runStepsBy(ctx, in, watch, steps)
	return events, err
}

// runStepsBy is runSteps, also giving the runner, for the outputs of the
// run (Output.Of).
func runStepsBy(ctx context.Context, in *Install, watch Sink, steps []Step) (*Runner, []Event, error) {
	plan, err := NewPlan(wireSubset(steps)...)
	if err != nil {
		return nil, nil, err
	}
	rec := &Recorder{}
	var sink Sink = rec
	if watch != nil {
		sink = Tee(rec, watch)
	}
	r := &Runner{Sink: sink, Status: in.Store}
	err = r.Run(ctx, plan)
	return r, rec.Events(), err
}

// registrationToken is the runner token a run of the Gitea steps got.
func registrationToken(t *testing.T, r *Runner) string {
	t.Helper()
	tok, ok := runnerToken.Of(r)
	if !ok || tok.Empty() {
		t.Fatal("the Gitea steps got no runner registration token")
	}
	return tok.Reveal()
}

// finalEvents is the last done/skipped/failed event of each step.
func finalEvents(events []Event) map[string]Event {
	m := map[string]Event{}
	for _, e := range events {
		if e.Kind == Done || e.Kind == Skipped || e.Kind == Failed {
			m[e.Step] = e
		}
	}
	return m
}

func progressSays(events []Event, step, text string) bool {
	for _, e := range events {
		if e.Step == step && e.Kind == Progress && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}

// assertCertCovers checks the name a browser checks: the certificate the
// ingress serves for host is valid for host. (That it chains to
// PocketIDP's CA, the ready step's own request proved.)
func assertCertCovers(t *testing.T, ing *testenv.Ingress, host string) {
	t.Helper()
	conn, err := tls.Dial("tcp", ing.Addr(), &tls.Config{ServerName: host, InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		t.Fatal("no certificate served")
	}
	if err := certs[0].VerifyHostname(host); err != nil {
		t.Errorf("served certificate: %v", err)
	}
}

// TestFollow covers the loop every Backstage step waits in: failed reads
// are tried again for a while, a verdict, bad input or a final answer ends
// it at once, and the shared deadline names the last state seen.
func TestFollow(t *testing.T) {
	blip := errors.New("connection reset by peer")
	verdict := fixError{err: errors.New("the build failed"), fix: "read the log"}
	bad := &config.InputError{Msg: "token rejected", Hint: "set HUMANITEC_TOKEN"}
	gone := &humanitec.APIError{Method: "GET", Path: "/orgs/o/apps/a/envs/5min-local/deploys", Status: http.StatusNotFound}
	unavailable := &humanitec.APIError{Method: "GET", Path: "/orgs/o/apps/a/envs/5min-local/deploys", Status: http.StatusServiceUnavailable}
	for _, tt := range []struct {
		name         string
		results      []error // one per look; the look after the last is done
		readsFailing time.Duration
		wait         time.Duration
		looks        int // 0: not checked
		wantErr      error
		say          string
	}{
		{name: "done at once", looks: 1},
		{name: "blips, then done", results: []error{blip, blip, blip}, looks: 4},
		{name: "Humanitec unavailable, then done", results: []error{unavailable, unavailable}, looks: 3},
		{name: "reads failing too long", results: slices.Repeat([]error{blip}, 1000), readsFailing: 100 * time.Millisecond,
			wantErr: blip, say: "reads have failed since"},
		{name: "a verdict ends it", results: []error{nil, verdict}, looks: 2, wantErr: verdict},
		{name: "bad input ends it", results: []error{bad}, looks: 1, wantErr: bad},
		{name: "a final answer ends it", results: []error{gone}, looks: 1, wantErr: gone},
		{name: "deadline names the last state", results: make([]error, 1000), wait: 300 * time.Millisecond,
			say: "not done within --wait-timeout 300ms (last seen: look"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := config.Defaults()
			o.WaitTimeout = time.Minute
			if tt.wait > 0 {
				o.WaitTimeout = tt.wait
			}
			in := &Install{Options: o, Backstage: BackstageInput{Poll: 20 * time.Millisecond, ReadsFailing: cmp.Or(tt.readsFailing, time.Hour)}}
			clock := &waitClock{timeout: o.WaitTimeout}
			looks := 0
			var got error
			step := Func{StepName: "follow", RunFunc: func(ctx context.Context, sc *StepContext) error {
				got = in.follow(ctx, sc, clock, "https://example.test", "", func(context.Context) (bool, string, error) {
					looks++
					if looks > len(tt.results) {
						return true, "done", nil
					}
					return false, fmt.Sprintf("look %d", looks), tt.results[looks-1]
				})
				return got
			}}
			plan, err := NewPlan(Step{Action: step})
			if err != nil {
				t.Fatal(err)
			}
			_ = (&Runner{Sink: &Recorder{}}).Run(context.Background(), plan)
			if tt.say != "" && (got == nil || !strings.Contains(got.Error(), tt.say)) {
				t.Errorf("err = %v, want it to say %q", got, tt.say)
			}
			if tt.say == "" || tt.wantErr != nil {
				if !errors.Is(got, tt.wantErr) {
					t.Errorf("err = %v, want %v", got, tt.wantErr)
				}
			}
			if tt.looks > 0 && looks != tt.looks {
				t.Errorf("looked %d times, want %d", looks, tt.looks)
			}
		})
	}
}

// waitForRun waits until Gitea made a run in 5minorg/backstage.
func waitForRun(t *testing.T, g *testenv.GiteaServer) {
	t.Helper()
	admin, err := sdk.NewClient(g.URL, sdk.SetBasicAuth(g.AdminUser, g.AdminPassword))
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, func() error {
		runs, _, err := admin.ListRepoActionRuns(config.DefaultGiteaOrg, gitea.DefaultRepo, sdk.ListRepoActionRunsOptions{})
		if err != nil {
			return err
		}
		if runs.TotalCount == 0 {
			return errors.New("no Actions run yet")
		}
		return nil
	})
}

// TestBuildSkipped: a run whose jobs were all skipped is not a failure
// with a log to read but conditions to check.
func TestBuildSkipped(t *testing.T) {
	err := buildFailed(gitea.Build{RunNumber: 3, Status: "completed", Conclusion: "skipped", URL: "https://git.localhost:8443/5minorg/backstage/actions/runs/3"}, 8443)
	var fe fixError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want one with a fix", err)
	}
	for _, w := range []string{"run #3", "was skipped"} {
		if !strings.Contains(fe.Error(), w) {
			t.Errorf("error %q does not say %q", fe.Error(), w)
		}
	}
	for _, w := range []string{"CLOUD_PROVIDER=5min", "https://git.localhost:8443/org/5minorg/settings/actions/variables", "actions/runs/3"} {
		if !strings.Contains(fe.Fix(), w) {
			t.Errorf("fix %q does not say %q", fe.Fix(), w)
		}
	}
}

// TestBackstageFollowsANewPush: after a failed deployment the fix says to
// push a commit and run `up --wait` again; that run follows the new build
// and its deployment, not the failed one before.
func TestBackstageFollowsANewPush(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := testenv.Gitea(t)
	hum := humanitectest.New(t)
	in := backstageInstall(t, g, hum, backstageWorkflow)
	in.Options.Wait, in.Options.WaitTimeout = true, 90*time.Second
	in.Backstage = BackstageInput{Poll: 200 * time.Millisecond, Appear: 10 * time.Second}
	app := humanitec.BackstageAppID(in.Store.InstallID())
	host := app + "-abcd.localhost"
	hum.SeedApp(humanitectest.DefaultOrg, humanitectest.App{ID: app, Name: app, Envs: map[string]string{config.EnvType: config.EnvType}})
	hum.ScriptDeploys(humanitectest.DefaultOrg, app, config.EnvType, humanitectest.DeployScript{Fail: true})

	api := testenv.APIServer(t)
	in.Options.Kubeconfig, in.Options.Context = api.KubeconfigPath, testenv.KubeContext
	cs, err := api.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ing := testenv.StartIngress(t, cs, TLSSecret.Namespace, TLSSecret.Name)
	ing.Route(host, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<title>Backstage</title>") }))
	in.Options.Port = ing.Port

	giteaRun, _, err := runStepsBy(ctx, in, nil, giteaSteps(in))
	if err != nil {
		t.Fatal(err)
	}
	testenv.ActionsRunner(t, testenv.RunnerOptions{GiteaURL: g.URL, RegistrationToken: registrationToken(t, giteaRun),
		Outcome: func(task testenv.RunnerTask) testenv.TaskOutcome {
			if err := humanitectest.CIDeploy(hum.URL, task.Vars, task.Secrets); err != nil {
				t.Error(err)
			}
			return testenv.TaskOutcome{}
		}})
	plan := func() []Step { return append(giteaSteps(in), backstageSteps(in)...) }
	events, err := runSteps(ctx, in, nil, plan())
	if err == nil || finalEvents(events)[StepBackstageDeploy].Kind != Failed {
		t.Fatalf("first run: err %v, want backstage/deploy failed\n%v", err, events)
	}

	// The learner fixes the cause and pushes.
	hum.ScriptDeploys(humanitectest.DefaultOrg, app, config.EnvType, humanitectest.DeployScript{Host: host})
	admin, err := sdk.NewClient(g.URL, sdk.SetBasicAuth(g.AdminUser, g.AdminPassword))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := admin.CreateFile(config.DefaultGiteaOrg, gitea.DefaultRepo, "fix.txt",
		sdk.CreateFileOptions{Content: base64.StdEncoding.EncodeToString([]byte("fixed\n"))}); err != nil {
		t.Fatal(err)
	}
	events, err = runSteps(ctx, in, nil, plan())
	if err != nil {
		t.Fatalf("after the push: %v\n%v", err, events)
	}
	if got := in.Store.Value(ValueBackstageHost); got != host {
		t.Errorf("host %q, want %q from the new deployment", got, host)
	}
}

// upstreamRepo is the stand-in of the upstream Backstage repository: with
// workflow (if any) as .github/workflows/deploy.yaml, and its own Actions
// off so that only the seeded copy runs.
func upstreamRepo(t *testing.T, g *testenv.GiteaServer, workflow string) *sdk.Repository {
	t.Helper()
	admin, err := sdk.NewClient(g.URL, sdk.SetBasicAuth(g.AdminUser, g.AdminPassword))
	if err != nil {
		t.Fatal(err)
	}
	up, _, err := admin.CreateRepo(sdk.CreateRepoOption{Name: "upstream", AutoInit: true, DefaultBranch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	off := false
	if _, _, err := admin.EditRepo(g.AdminUser, "upstream", sdk.EditRepoOption{HasActions: &off}); err != nil {
		t.Fatal(err)
	}
	if workflow != "" {
		if _, _, err := admin.CreateFile(g.AdminUser, "upstream", ".github/workflows/deploy.yaml",
			sdk.CreateFileOptions{Content: base64.StdEncoding.EncodeToString([]byte(workflow))}); err != nil {
			t.Fatal(err)
		}
	}
	return up
}

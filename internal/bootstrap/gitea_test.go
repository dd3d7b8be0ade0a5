package bootstrap

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/gitea"
	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/state"
	"github.com/pocketidp/pocketidp/internal/testenv"
)

func TestGiteaStepsPlan(t *testing.T) {
	in := &Install{Options: config.Defaults()}
	got := map[string][]string{}
	for _, s := range wireSubset(giteaSteps(in)) {
		got[s.Action.Name()] = s.Needs
		if s.Timeout <= 0 {
			t.Errorf("%s has no timeout of its own", s.Action.Name())
		}
	}
	want := map[string][]string{
		"gitea/ready":          nil,
		"gitea/org":            {"gitea/ready"},
		"gitea/backstage-repo": {"gitea/org"},
		"gitea/actions-config": {"gitea/org"},
		"gitea/runner-token":   {"gitea/ready"},
		"gitea/trigger":        {"gitea/backstage-repo", "gitea/actions-config"},
	}
	if !maps.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Errorf("steps and needs = %v, want %v", got, want)
	}
	if _, err := NewPlan(wireSubset(giteaSteps(in))...); err != nil {
		t.Fatal(err)
	}
	// HUMANITEC_APP_ID must name the app the Humanitec steps register.
	if a, b := gitea.BackstageAppID("abcd"), humanitec.BackstageAppID("abcd"); a != b {
		t.Errorf("HUMANITEC_APP_ID %q, Humanitec app %q", a, b)
	}
	// The engine finds Done and Undo where they belong.
	for _, s := range giteaSteps(in) {
		_, checks := s.Action.(Checker)
		_, undoes := s.Action.(Undoer)
		name := s.Action.Name()
		if checks != (name != "gitea/ready") {
			t.Errorf("%s: Done = %t", name, checks)
		}
		if undoes != (name == "gitea/org" || name == "gitea/backstage-repo" || name == "gitea/actions-config") {
			t.Errorf("%s: Undo = %t", name, undoes)
		}
	}
}

// countingTransport records the requests that may change something.
type countingTransport struct {
	mu     sync.Mutex
	writes []string
	all    int
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.all++
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		c.writes = append(c.writes, req.Method+" "+req.URL.Path)
	}
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (c *countingTransport) reset() (writes []string, all int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	writes, all = c.writes, c.all
	c.writes, c.all = nil, 0
	return writes, all
}

// TestGiteaSteps runs the Gitea steps through the engine against a real
// Gitea: the first run seeds, a second one (a new process: a new Install on
// the same state) skips every step with Done and writes nothing, and Undo
// removes what the install made.
func TestGiteaSteps(t *testing.T) {
	g := testenv.Gitea(t)
	ctx := context.Background()
	admin, err := sdk.NewClient(g.URL, sdk.SetBasicAuth(g.AdminUser, g.AdminPassword))
	if err != nil {
		t.Fatal(err)
	}
	up := upstreamRepo(t, g, "on:\n  push:\n    branches: main\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ vars.HUMANITEC_APP_ID }}\n")

	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	opts := config.Defaults()
	opts.Kubeconfig = "/dev/null" // an existing cluster: down removes Gitea's content piece by piece
	opts.BackstageRepo = up.CloneURL
	opts.HumanitecOrg = "acme"
	opts.HumanitecToken = secret.New("hum-token-" + testenv.UniqueName(t))
	tr := &countingTransport{}
	newInstall := func() *Install {
		return &Install{Options: opts, Store: store, Gitea: GiteaInput{URL: g.URL, HTTPClient: &http.Client{Transport: tr}}}
	}
	var last *Runner // of the latest run, for its outputs
	run := func(in *Install, undo bool) []Event {
		t.Helper()
		plan, err := NewPlan(wireSubset(giteaSteps(in))...)
		if err != nil {
			t.Fatal(err)
		}
		rec := &Recorder{}
		r := &Runner{Sink: rec, Status: store}
		last = r
		if undo {
			err = r.Undo(ctx, plan)
		} else {
			err = r.Run(ctx, plan)
		}
		if err != nil {
			t.Fatalf("run (undo %t): %v\n%v", undo, err, rec.Events())
		}
		for _, e := range rec.Events() {
			if strings.Contains(e.Message, opts.HumanitecToken.Reveal()) {
				t.Errorf("event shows the token: %+v", e)
			}
		}
		return rec.Events()
	}
	final := func(events []Event) map[string]Kind {
		m := map[string]Kind{}
		for _, e := range events {
			if e.Kind == Done || e.Kind == Skipped || e.Kind == Failed {
				m[e.Step] = e.Kind
			}
		}
		return m
	}

	in := newInstall()
	first := final(run(in, false))
	for _, s := range giteaSteps(in) {
		if first[s.Action.Name()] != Done {
			t.Errorf("first run: %s ended %q, want done", s.Action.Name(), first[s.Action.Name()])
		}
	}
	writes, _ := tr.reset()
	t.Logf("first run: %d writes", len(writes))
	token, _ := runnerToken.Of(last)
	if token.Empty() {
		t.Fatal("no runner registration token for the runner chart")
	}
	o, _, err := admin.GetOrg(config.DefaultGiteaOrg)
	if err != nil || o.Visibility != "public" {
		t.Fatalf("org 5minorg = %+v, %v", o, err)
	}
	main, _, err := admin.GetRepoBranch(config.DefaultGiteaOrg, "backstage", "main")
	if err != nil || main.Commit.ID != store.Value(gitea.KeyTriggerCommit) {
		t.Fatalf("5minorg/backstage main = %v, %v; want the recorded trigger commit", main, err)
	}
	vars, _, err := admin.ListOrgActionVariable(config.DefaultGiteaOrg, sdk.ListOrgActionVariableOption{})
	if err != nil || len(vars) != 3 {
		t.Errorf("org variables = %v, %v", vars, err)
	}

	// As the runner chart does with the token. The runner takes no jobs:
	// the undo below deletes the repository whose run is queued.
	testenv.ActionsRunner(t, testenv.RunnerOptions{GiteaURL: g.URL, RegistrationToken: token.Reveal(), RegisterOnly: true})

	in2 := newInstall()
	second := final(run(in2, false))
	writes, all := tr.reset()
	if len(writes) != 0 {
		t.Errorf("second run wrote %v", writes)
	}
	t.Logf("second run: %d requests, all reads", all)
	for _, s := range giteaSteps(in2) {
		name, want := s.Action.Name(), Skipped
		if name == StepGiteaReady {
			want = Done // the check itself
		}
		if second[name] != want {
			t.Errorf("second run: %s ended %q, want %q", name, second[name], want)
		}
	}
	if tok, _ := runnerToken.Of(last); !tok.Empty() {
		t.Error("second run fetched a token although a runner is registered")
	}

	run(newInstall(), true)
	if _, resp, _ := admin.GetOrg(config.DefaultGiteaOrg); resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("org after undo: %v, want 404", resp)
	}
	if _, _, err := admin.GetRepo(g.AdminUser, "upstream"); err != nil {
		t.Errorf("undo removed the upstream, which the install did not create: %v", err)
	}
	if objs := store.Snapshot().Objects; len(objs) != 0 {
		t.Errorf("state still lists %v", objs)
	}
}

// TestGiteaHTTPClient checks the client the product reaches Gitea with:
// https://git.localhost:<port> through the ingress, verified against
// PocketIDP's CA, dialled on the listen address, never through a proxy.
func TestGiteaHTTPClient(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1") // would fail every request that used it
	withCA, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer withCA.Close()
	src := &Install{Options: config.Defaults(), Store: withCA}
	hosts, err := src.certHosts()
	if err != nil {
		t.Fatal(err)
	}
	_, leaf, _, err := src.tlsStore().Ensure(hosts)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host == "" || !strings.HasPrefix(r.Host, "git.localhost:") {
			http.Error(w, "wrong host "+r.Host, http.StatusMisdirectedRequest)
			return
		}
		fmt.Fprint(w, `{"version":"1.27.3"}`)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	srv.StartTLS()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	url := "https://git.localhost:" + port + "/api/v1/version"

	noCA, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer noCA.Close()
	tests := []struct {
		name    string
		in      *Install
		wantErr string
	}{
		{"CA read from the state dir", &Install{Options: config.Defaults(), Store: withCA}, ""},
		{"listen address 0.0.0.0 dials loopback", &Install{Options: func() config.Options {
			o := config.Defaults()
			o.ListenAddress = "0.0.0.0"
			return o
		}(), Store: withCA}, ""},
		{"no CA: the certificate is not trusted", &Install{Options: config.Defaults(), Store: noCA}, "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hc, err := tt.in.giteaHTTPClient()
			if err != nil {
				t.Fatal(err)
			}
			resp, err := hc.Get(url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("GET %s = %v, want an error about the %s", url, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("GET %s: %v", url, err)
			}
			defer resp.Body.Close()
			if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "1.27.3") {
				t.Errorf("GET %s = %s %s", url, resp.Status, b)
			}
		})
	}

	// An untrusted certificate stops the wait at once with the fix, instead
	// of retrying until the timeout.
	in := &Install{Options: config.Defaults(), Store: noCA, Gitea: GiteaInput{URL: "https://git.localhost:" + port}}
	sc := &StepContext{name: StepGiteaReady, run: &run{r: &Runner{}}, logger: slog.New(slog.DiscardHandler)}
	g, err := in.giteaSeeder(sc)
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	err = g.WaitReady(context.Background())
	if !config.IsInput(err) || !strings.Contains(err.Error(), "not trust") {
		t.Fatalf("WaitReady = %v, want an input error about the certificate", err)
	}
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("gave up after %s: an untrusted certificate is not worth waiting for", took)
	}
}

// TestGiteaUndoWithTheCluster: when `down` deletes the kind cluster, Gitea
// goes with it, so the Gitea steps only forget their records: no request,
// no wait for a Gitea that may be gone already.
func TestGiteaUndoWithTheCluster(t *testing.T) {
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	opts := config.Defaults()
	for _, o := range [][2]string{
		{objKindCluster, opts.Name},
		{gitea.KindOrg, "5minorg"},
		{gitea.KindRepo, "5minorg/backstage"},
		{gitea.KindOrgSecret, "5minorg/HUMANITEC_TOKEN"},
	} {
		if err := store.AddObject(o[0], o[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.SetValue(gitea.KeyTriggerCommit, "abc"); err != nil {
		t.Fatal(err)
	}
	tr := &countingTransport{}
	in := &Install{Options: opts, Store: store, Gitea: GiteaInput{URL: "http://127.0.0.1:1", HTTPClient: &http.Client{Transport: tr}}}
	plan, err := NewPlan(wireSubset(giteaSteps(in))...)
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	if err := (&Runner{}).Undo(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("undo took %s", took)
	}
	if _, all := tr.reset(); all != 0 {
		t.Errorf("undo sent %d requests to a Gitea that goes with the cluster", all)
	}
	snap := store.Snapshot()
	if len(snap.Objects) != 1 || snap.Objects[0].Kind != objKindCluster || snap.Values[gitea.KeyTriggerCommit] != "" {
		t.Errorf("state after undo: %+v %v, want only the cluster", snap.Objects, snap.Values)
	}
}

package bootstrap

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/orchestrator"
	"github.com/pocketidp/pocketidp/internal/orchestrator/image"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/state"
	"github.com/pocketidp/pocketidp/internal/testenv"
)

// The plan of each mode: with no credentials the local orchestrator's
// steps replace Humanitec's check and agent chart; with credentials none
// of them are there; --skip-humanitec has neither.
func TestPlanModes(t *testing.T) {
	local := []string{StepOrchestratorCredentials, StepOrchestratorImage, StepOrchestrator, StepOrchestratorReady}
	tests := []struct {
		name    string
		change  func(*config.Options)
		has     []string
		hasNot  []string
		envType []string // what humanitec/env-type waits for
	}{
		{"no credentials: the local orchestrator", func(*config.Options) {},
			append(slices.Clone(local), StepHumanitecEnvType, StepHumanitecDefinitions, StepHumanitecAgent, StepBackstageRoute),
			[]string{StepHumanitecCheck, StepAgent}, []string{StepOrchestratorReady}},
		{"Humanitec", func(o *config.Options) { o.HumanitecOrg, o.HumanitecToken = "acme", secret.New("t") },
			[]string{StepHumanitecCheck, StepAgent, StepHumanitecEnvType}, local, []string{StepHumanitecCheck}},
		{"skipped", func(o *config.Options) { o.SkipHumanitec = true },
			nil, append(slices.Clone(local), StepHumanitecCheck, StepAgent, StepHumanitecEnvType), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := config.Defaults()
			tt.change(&o)
			p, err := UpPlan(&Install{Options: o})
			if err != nil {
				t.Fatal(err)
			}
			names := map[string]Step{}
			for _, s := range p.Steps() {
				names[s.Action.Name()] = s
			}
			for _, n := range tt.has {
				if _, ok := names[n]; !ok {
					t.Errorf("%s is not in the plan", n)
				}
			}
			for _, n := range tt.hasNot {
				if _, ok := names[n]; ok {
					t.Errorf("%s is in the plan", n)
				}
			}
			if s, ok := names[StepHumanitecEnvType]; ok && !slices.Equal(s.Needs, tt.envType) {
				t.Errorf("%s needs %v, want %v", StepHumanitecEnvType, s.Needs, tt.envType)
			}
			if s, ok := names[StepGiteaActions]; ok && o.LocalOrchestrator() != slices.Contains(s.Needs, StepOrchestratorCredentials) {
				t.Errorf("%s needs %v", StepGiteaActions, s.Needs)
			}
		})
	}
}

// localEnv is a local-orchestrator install on the test API server (as an
// existing cluster), whose orchestrator API is served in-process with the
// org and token the install makes, and whose image load is recorded.
type localEnv struct {
	in       *Install
	cs       kubernetes.Interface
	served   *httptest.Server
	mu       sync.Mutex
	loaded   []string
	srv      *orchestrator.Server
	srvErr   error
	srvOrg   string
	srvToken secret.Value
	stopped  chan struct{}
}

func newLocalEnv(t *testing.T) *localEnv {
	t.Helper()
	c := testenv.APIServer(t)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	opts := config.Defaults()
	opts.Kubeconfig, opts.Context, opts.StateDir = c.KubeconfigPath, testenv.KubeContext, dir
	e := &localEnv{cs: cs, stopped: make(chan struct{})}
	e.in = &Install{Options: opts, Store: st, Log: slog.New(slog.DiscardHandler)}
	if err := humanitec.WriteAgentKey(e.in.HumanitecAgentKeyPath(), testAgentKey(t)); err != nil {
		t.Fatal(err)
	}
	e.in.Humanitec.Cluster = func(context.Context) (humanitec.ClusterData, error) {
		return humanitec.ClusterData{Server: "https://5min-idp-control-plane:6443", Token: secret.New("cluster-token")}, nil
	}
	// The orchestrator as the cluster would run it, made on the first
	// request with what orchestrator/credentials put in the state.
	e.served = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := e.server(t)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(e.served.Close)
	e.in.Orchestrator = OrchestratorInput{
		Image: func() (v1.Image, error) { return image.Build([]byte("a static pocketidp"), "amd64") },
		LoadImage: func(_ context.Context, ref string, _ v1.Image) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.loaded = append(e.loaded, ref)
			return nil
		},
		ReadyTimeout: 30 * time.Second,
		URL:          e.served.URL,
		HTTPClient:   e.served.Client(),
	}
	// No kubelet: the orchestrator's Deployment is made available as
	// soon as it exists, as a node running its pod would.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); <-e.stopped })
	go func() {
		defer close(e.stopped)
		for ctx.Err() == nil {
			d, err := cs.AppsV1().Deployments(orchestrator.InstallNamespace).Get(ctx, orchestrator.InstallName, metav1.GetOptions{})
			if err == nil && d.Status.AvailableReplicas < 1 {
				d.Status.Replicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = 1, 1, 1
				_, _ = cs.AppsV1().Deployments(orchestrator.InstallNamespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return e
}

func (e *localEnv) server(t *testing.T) (*orchestrator.Server, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.srv == nil && e.srvErr == nil {
		org, token, _, ok := e.in.LocalOrchestratorAccess()
		if !ok {
			return nil, errNotYet
		}
		e.srvOrg, e.srvToken = org, token
		e.srv, e.srvErr = orchestrator.New(context.Background(), orchestrator.Config{Org: org, Token: token})
		if e.srv != nil {
			t.Cleanup(e.srv.Close)
		}
	}
	return e.srv, e.srvErr
}

var errNotYet = &config.InputError{Msg: "the orchestrator has no token yet"}

// steps are the cluster (the existing one), its certificate, the local
// orchestrator and the Humanitec registrations: the part of the plan
// local mode changes.
func (e *localEnv) run(t *testing.T, undo bool) ([]Event, error) {
	t.Helper()
	in := e.in
	steps := []Step{{Action: clusterStep{in}}, {Action: tlsStep{in}}}
	steps = append(steps, orchestratorSteps(in)...)
	steps = append(steps, humanitecSteps(in)...)
	p, err := NewPlan(wireSubset(steps)...)
	if err != nil {
		t.Fatal(err)
	}
	rec := &Recorder{}
	r := &Runner{Sink: rec, Status: in.Store, Concurrency: 8}
	ctx := context.Background()
	if undo {
		err = r.Undo(ctx, p)
	} else {
		err = r.Run(ctx, p)
	}
	return rec.Events(), err
}

// list is the ids a list route of the in-process orchestrator answers.
func (e *localEnv) list(t *testing.T, path string) []string {
	t.Helper()
	org, token, _, _ := e.in.LocalOrchestratorAccess()
	if org == "" {
		// down forgot them: ask with the ones the server was made with.
		org, token = e.srvOrg, e.srvToken
	}
	req, _ := http.NewRequest(http.MethodGet, e.served.URL+"/orgs/"+org+path, nil)
	req.Header.Set("Authorization", "Bearer "+token.Reveal())
	resp, err := e.served.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var items []struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&items); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	var ids []string
	for _, i := range items {
		ids = append(ids, i.ID)
	}
	return ids
}

// get calls the in-process orchestrator as a client would.
func (e *localEnv) get(t *testing.T, path string) int {
	t.Helper()
	org, token, _, _ := e.in.LocalOrchestratorAccess()
	req, _ := http.NewRequest(http.MethodGet, e.served.URL+"/orgs/"+org+path, nil)
	req.Header.Set("Authorization", "Bearer "+token.Reveal())
	resp, err := e.served.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Without credentials, up makes the org and token, loads the image,
// installs the orchestrator with an intermediate CA (never the root key)
// and registers with it through its API; a re-run changes nothing; down
// takes the registrations back, then the orchestrator.
func TestLocalOrchestratorUpRerunDown(t *testing.T) {
	e := newLocalEnv(t)
	in := e.in
	events, err := e.run(t, false)
	if err != nil {
		t.Fatalf("up: %v\n%v", err, humKinds(events, Failed))
	}
	ctx := context.Background()
	org, token, url, ok := in.LocalOrchestratorAccess()
	if !ok || org != "5min-local-"+in.Store.InstallID() || !strings.HasPrefix(token.Reveal(), "pidp_") || url != "https://orchestrator.localhost:8443" {
		t.Fatalf("state: org %q, token set %v, url %q", org, !token.Empty(), url)
	}
	if len(e.loaded) != 1 || !strings.HasPrefix(e.loaded[0], image.Repository+":sha-") {
		t.Fatalf("images loaded: %v", e.loaded)
	}
	dep, err := e.cs.AppsV1().Deployments(orchestrator.InstallNamespace).Get(ctx, orchestrator.InstallName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := dep.Spec.Template.Spec.Containers[0].Image; img != e.loaded[0] {
		t.Errorf("the Deployment runs %s, not the loaded %s", img, e.loaded[0])
	}
	if args := strings.Join(dep.Spec.Template.Spec.Containers[0].Args, " "); !strings.Contains(args, "--org "+org) ||
		!strings.Contains(args, "--ingress-port 8443") || strings.Contains(args, token.Reveal()) {
		t.Errorf("args %q: want the org and the ingress port, and never the token", args)
	}
	tok, err := e.cs.CoreV1().Secrets(orchestrator.InstallNamespace).Get(ctx, orchestrator.TokenSecretName, metav1.GetOptions{})
	if err != nil || string(tok.Data[orchestrator.TokenKey]) != token.Reveal() {
		t.Fatalf("token Secret: %v", err)
	}
	// The issuer is signed by the install's CA, can sign localhost names
	// only, and the root key is nowhere in the cluster.
	ca, err := in.tlsStore().LoadCA()
	if err != nil {
		t.Fatal(err)
	}
	iss, err := e.cs.CoreV1().Secrets(orchestrator.InstallNamespace).Get(ctx, orchestrator.IssuerSecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(iss.Data["tls.crt"])
	if b == nil {
		t.Fatal("the issuer Secret holds no certificate")
	}
	ic, err := x509.ParseCertificate(b.Bytes)
	if err != nil || ic.CheckSignatureFrom(ca.Cert) != nil || !slices.Equal(ic.PermittedDNSDomains, []string{"localhost"}) {
		t.Errorf("issuer: %v, constraints %v", err, ic.PermittedDNSDomains)
	}
	rootKey, err := os.ReadFile(filepath.Join(in.tlsStore().Dir, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	secs, _ := e.cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	for _, s := range secs.Items {
		for k, v := range s.Data {
			if bytes.Contains(v, bytes.TrimSpace(rootKey)) {
				t.Errorf("the root key is in Secret %s/%s key %s", s.Namespace, s.Name, k)
			}
		}
	}
	// CI jobs get its API prefix.
	if p, err := in.platform(); err != nil || p.JobEnv["HUMANITEC_API_PREFIX"] != url || p.JobEnv["HUMANITEC_HOST"] != url {
		t.Errorf("CI jobs' environment %v (%v)", p.JobEnv, err)
	}
	// The ingress certificate names the orchestrator.
	leaf, err := in.tlsStore().LoadLeaf()
	if err != nil || !slices.Contains(leaf.Cert.DNSNames, orchestrator.HostName) {
		t.Errorf("ingress certificate names %v (%v)", leaf.Cert.DNSNames, err)
	}
	// The registrations are in the local orchestrator.
	if ids := e.list(t, "/env-types"); !slices.Contains(ids, config.EnvType) {
		t.Errorf("env types %v", ids)
	}
	for _, path := range []string{"/apps/" + humanitec.BackstageAppID(in.Store.InstallID()),
		"/resources/defs/" + humanitec.Prefix(in.Store.InstallID()) + humanitec.DefDNS} {
		if code := e.get(t, path); code != http.StatusOK {
			t.Errorf("GET %s: %d", path, code)
		}
	}

	// A re-run finds it all in place: same token, nothing written.
	events, err = e.run(t, false)
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	done := humKinds(events, Done)
	for _, s := range []string{StepOrchestratorCredentials, StepOrchestrator, StepHumanitecEnvType, StepHumanitecApps, StepHumanitecDefinitions} {
		if slices.Contains(done, s) {
			t.Errorf("re-run did %s again (done: %v)", s, done)
		}
	}
	if _, again, _, _ := in.LocalOrchestratorAccess(); again.Reveal() != token.Reveal() {
		t.Error("the re-run made a new token")
	}

	// down: the registrations, then the orchestrator and what it deployed.
	if _, err := e.run(t, true); err != nil {
		t.Fatalf("down: %v", err)
	}
	if ids := e.list(t, "/env-types"); slices.Contains(ids, config.EnvType) {
		t.Errorf("after down, the env types are %v", ids)
	}
	if ids := e.list(t, "/apps"); len(ids) != 0 {
		t.Errorf("after down, the apps are %v", ids)
	}
	if _, err := e.cs.RbacV1().ClusterRoleBindings().Get(ctx, "pocketidp-orchestrator", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the orchestrator's ClusterRoleBinding after down: %v", err)
	}
	if n, err := e.cs.CoreV1().Namespaces().Get(ctx, orchestrator.InstallNamespace, metav1.GetOptions{}); err == nil && n.DeletionTimestamp == nil {
		t.Error("the orchestrator's namespace is not being deleted")
	}
	if _, _, _, ok := in.LocalOrchestratorAccess(); ok {
		t.Error("the state keeps the org and token after down")
	}
	for _, o := range in.Store.Snapshot().Objects {
		if strings.HasPrefix(o.Kind, "humanitec/") || o.Kind == ObjOrchestrator {
			t.Errorf("state object %s %s after down", o.Kind, o.ID)
		}
	}
}

// A cluster that is not kind cannot get the image: the step says so and
// what to do, before anything of the orchestrator is made.
func TestOrchestratorImageNeedsKind(t *testing.T) {
	e := newLocalEnv(t)
	e.in.Orchestrator.LoadImage = nil
	_, err := e.run(t, false)
	if err == nil {
		t.Fatal("up went through without a way to load the image")
	}
	var fe interface{ Fix() string }
	if !errors.As(err, &fe) {
		t.Fatalf("error %q names no fix", err)
	}
	for _, want := range []string{"context testenv is not a kind cluster", "HUMANITEC_ORG", "--skip-humanitec"} {
		if !strings.Contains(err.Error()+" "+fe.Fix(), want) {
			t.Errorf("error %q (fix %q) lacks %q", err, fe.Fix(), want)
		}
	}
	if _, err := e.cs.CoreV1().Namespaces().Get(context.Background(), orchestrator.InstallNamespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the orchestrator's namespace exists: %v", err)
	}
}

// The image is made from --orchestrator-binary when given: what cannot run
// alone in the image is refused with the fix.
func TestOrchestratorBinaryImage(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "pocketidp-darwin")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"not a Linux executable", script, "not a Linux executable"},
		{"missing", filepath.Join(dir, "nothing"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := binaryImage(tt.path)
			var fe interface{ Fix() string }
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.As(err, &fe) || !strings.Contains(fe.Fix(), "--orchestrator-binary") {
				t.Errorf("binaryImage(%s) = %v", tt.path, err)
			}
		})
	}
}

// On `down` (the plan undone in reverse), the registrations are taken back
// through the orchestrator's API before Engine.RemoveAll removes it, its
// credentials are forgotten after both, and the ingress the API is reached
// through stays until then.
func TestLocalDownOrder(t *testing.T) {
	p, err := DownPlan(&Install{Options: config.Defaults()})
	if err != nil {
		t.Fatal(err)
	}
	needs := map[string][]string{}
	for _, s := range p.Steps() {
		needs[s.Action.Name()] = s.Needs
	}
	var after func(step, dep string, seen map[string]bool) bool
	after = func(step, dep string, seen map[string]bool) bool {
		for _, n := range needs[step] {
			if n == dep || (!seen[n] && func() bool { seen[n] = true; return after(n, dep, seen) }()) {
				return true
			}
		}
		return false
	}
	for _, reg := range []string{StepHumanitecEnvType, StepHumanitecApps, StepHumanitecValues, StepHumanitecAgent, StepHumanitecDefinitions} {
		for _, dep := range []string{StepOrchestratorReady, StepOrchestrator, StepOrchestratorCredentials, StepTraefik} {
			if !after(reg, dep, map[string]bool{}) {
				t.Errorf("%s does not need %s: on down it would be undone after it", reg, dep)
			}
		}
	}
}

// An install's registrations do not move between Humanitec and the local
// orchestrator on a re-run; skipping, or a first run, is no switch.
func TestOrchestratorSwitchRefused(t *testing.T) {
	local := config.Defaults()
	hosted := config.Defaults()
	hosted.HumanitecOrg, hosted.HumanitecToken = "acme", secret.New("t")
	savedHosted := hosted
	savedHosted.HumanitecToken = secret.Value{} // the token is never saved
	skipped := config.Defaults()
	skipped.SkipHumanitec = true
	reg := []state.Object{{Kind: "humanitec/app", ID: "5min-idp-abcd"}}
	tests := []struct {
		name    string
		prev    state.File
		next    config.Options
		wantErr string
	}{
		{"local, then credentials", state.File{Options: local, Objects: reg}, hosted, "run `pocketidp down` first"},
		{"local orchestrator installed, then credentials", state.File{Options: local, Objects: []state.Object{{Kind: ObjOrchestrator, ID: "x"}}}, hosted, "local orchestrator"},
		{"Humanitec, then no credentials", state.File{Options: savedHosted, Objects: reg}, local, "registered with Humanitec org acme"},
		{"local again", state.File{Options: local, Objects: reg}, local, ""},
		{"Humanitec again", state.File{Options: savedHosted, Objects: reg}, hosted, ""},
		{"nothing registered yet", state.File{Options: local}, hosted, ""},
		{"skipped now", state.File{Options: local, Objects: reg}, skipped, ""},
		{"Humanitec, skipped, then Humanitec", state.File{Options: func() config.Options { o := savedHosted; o.SkipHumanitec = true; return o }(), Objects: reg}, hosted, ""},
		{"local, skipped, then credentials", state.File{Options: skipped, Objects: reg}, hosted, "local orchestrator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := orchestratorSwitch(tt.prev, tt.next)
			if (err == nil) != (tt.wantErr == "") || (err != nil && (!config.IsInput(err) || !strings.Contains(err.Error(), tt.wantErr))) {
				t.Errorf("orchestratorSwitch = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

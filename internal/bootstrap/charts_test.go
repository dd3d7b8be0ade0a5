package bootstrap

import (
	"context"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	rcommon "helm.sh/helm/v4/pkg/release/common"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pocketidp/pocketidp/internal/charts"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/state"
	"github.com/pocketidp/pocketidp/internal/testenv"
)

// chartEnv is an existing cluster (a real API server of its own: the
// releases use fixed namespaces, which never finish terminating there) and
// a chart repository serving the stand-in charts of internal/charts.
type chartEnv struct {
	in   *Install
	kube kubernetes.Interface
	repo *testenv.ChartRepoServer
}

func newChartEnv(t *testing.T) *chartEnv {
	t.Helper()
	c := testenv.APIServer(t)
	var dirs []string
	// Humanitec's agent chart cannot be read anywhere here: a stand-in.
	// Traefik and Gitea are the real charts; the registry and runner are
	// PocketIDP's own, built in.
	for _, n := range []string{"humanitec-agent"} {
		abs, err := filepath.Abs(filepath.Join("..", "charts", "testdata", "charts", n))
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, abs)
	}
	repo := testenv.ChartRepo(t, dirs...)
	getter, err := charts.GetterFromConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	// No kubelet: wait for hooks only.
	upstream, err := filepath.Abs(filepath.Join("..", "charts", "testdata", "upstream"))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := charts.New(charts.Options{Getter: getter, ChartDir: upstream, CacheDir: t.TempDir(), Wait: charts.WaitHooksOnly, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	d := charts.DefaultSources()
	opts := config.Defaults()
	opts.Kubeconfig, opts.Context = c.KubeconfigPath, testenv.KubeContext // existing-cluster mode
	opts.HumanitecOrg, opts.HumanitecToken = "my-org", secret.New("humanitec-token")
	opts.ChartDir = upstream
	// The CA and the agent's key, as the tls and agent-key steps leave them
	// in the state dir for the chart steps.
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	in := &Install{Options: opts, Store: store, Charts: ChartsInput{
		Getter: getter, Installer: inst,
		Sources: charts.Sources{
			Agent: charts.Source{Repo: repo.URL, Chart: d.Agent.Chart, Version: d.Agent.Version},
		},
	}}
	if _, _, err := in.tlsStore().EnsureCA(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := humanitec.EnsureAgentKey(in.HumanitecAgentKeyPath()); err != nil {
		t.Fatal(err)
	}
	return &chartEnv{in: in, kube: cs, repo: repo}
}

// plan is the chart steps plus a stand-in for the Gitea step that gets the
// runner token.
func (e *chartEnv) plan(t *testing.T) *Plan {
	t.Helper()
	token := Func{StepName: StepRunnerToken,
		RunFunc: func(_ context.Context, sc *StepContext) error {
			return runnerToken.Set(sc, secret.New("registration-token"))
		},
		DoneFunc: func(context.Context, *StepContext) (bool, error) { return false, nil }}
	return subPlan(t, append([]Step{{Action: token}}, chartsSteps(e.in)...)...)
}

// events collects what a run reported, by step.
type events struct {
	mu  sync.Mutex
	all []Event
}

func (ev *events) Emit(e Event) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	ev.all = append(ev.all, e)
}

func (ev *events) final(step string) Event {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var last Event
	for _, e := range ev.all {
		if e.Step == step && (e.Kind == Done || e.Kind == Skipped || e.Kind == Failed) {
			last = e
		}
	}
	return last
}

func (ev *events) logs(step string) string {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var b strings.Builder
	for _, e := range ev.all {
		if e.Step == step && e.Kind == Log {
			b.WriteString(e.Message + "\n")
		}
	}
	return b.String()
}

func (e *chartEnv) run(t *testing.T, undo bool) (*events, error) {
	t.Helper()
	ev := &events{}
	r := &Runner{Sink: ev, Status: &memStatus{}}
	ctx := context.Background()
	if undo {
		return ev, r.Undo(ctx, e.plan(t))
	}
	return ev, r.Run(ctx, e.plan(t))
}

var chartSteps = []string{StepTraefik, StepGitea, StepRegistry, StepRunner, StepAgent}

func (e *chartEnv) lastRevision(t *testing.T, ns, name string) *releasev1.Release {
	t.Helper()
	d := driver.NewSecrets(e.kube.CoreV1().Secrets(ns))
	h, err := storage.Init(d).History(name)
	if err != nil || len(h) == 0 {
		return nil
	}
	var last *releasev1.Release
	for _, ri := range h {
		r := ri.(*releasev1.Release)
		if last == nil || r.Version > last.Version {
			last = r
		}
	}
	return last
}

// TestChartStepsEndToEnd runs the chart steps against an existing cluster:
// install, a no-op re-run, an upgrade after a changed option, recovery of
// a release an interrupted run left pending-install, and down.
func TestChartStepsEndToEnd(t *testing.T) {
	e := newChartEnv(t)
	ctx := context.Background()
	releases := map[string][2]string{ // step -> namespace, release
		StepTraefik: {charts.TraefikNamespace, charts.TraefikRelease}, StepGitea: {charts.GiteaNamespace, charts.GiteaRelease},
		StepRegistry: {charts.RegistryNamespace, charts.RegistryRelease}, StepRunner: {charts.RunnerNamespace, charts.RunnerRelease},
		StepAgent: {charts.AgentNamespace, charts.AgentRelease},
	}
	revisions := func() map[string]int {
		out := map[string]int{}
		for step, r := range releases {
			if last := e.lastRevision(t, r[0], r[1]); last != nil && last.Info.Status == rcommon.StatusDeployed {
				out[step] = last.Version
			}
		}
		return out
	}

	// An existing cluster of two nodes: the registry serves one of them.
	for _, n := range []string{"node-a", "node-b"} {
		if _, err := e.kube.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// up
	ev, err := e.run(t, false)
	if err != nil {
		t.Fatalf("first run: %v", err)
	}
	ev.mu.Lock()
	warned := slices.ContainsFunc(ev.all, func(x Event) bool {
		return x.Step == StepRegistry && x.Level == "WARN" && strings.Contains(x.Message, "2 nodes and the registry serves one")
	})
	ev.mu.Unlock()
	if !warned {
		t.Error("no warning that the registry serves one node of two")
	}
	for _, s := range chartSteps {
		if k := ev.final(s).Kind; k != Done {
			t.Errorf("first run: %s %s, want done", s, k)
		}
	}
	if got := revisions(); len(got) != 5 {
		t.Fatalf("deployed releases after up: %v, want 5", got)
	}
	// The runner got the token, and the real Gitea chart wrote our
	// app.ini.
	tok, err := e.kube.CoreV1().Secrets(charts.RunnerNamespace).Get(ctx, charts.RunnerTokenSecret, metav1.GetOptions{})
	if err != nil || string(tok.Data["token"]) != "registration-token" {
		t.Errorf("runner token secret: %v %q", err, tok.Data["token"])
	}
	ini, err := e.kube.CoreV1().Secrets(charts.GiteaNamespace).Get(ctx, "gitea-inline-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if server := string(ini.Data["server"]); !strings.Contains(server, "ROOT_URL=https://git.localhost:8443/") {
		t.Errorf("gitea [server] rendered %q", server)
	}
	ss, err := e.kube.AppsV1().StatefulSets(charts.RunnerNamespace).Get(ctx, charts.RunnerRelease, metav1.GetOptions{})
	if err != nil || len(ss.Spec.Template.Spec.InitContainers) != 3 {
		t.Errorf("runner StatefulSet: %v (init containers %d, want the two forwarders and DinD)", err, len(ss.Spec.Template.Spec.InitContainers))
	}

	// re-run: every chart step is skipped and no revision is added
	before := revisions()
	ev, err = e.run(t, false)
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	for _, s := range chartSteps {
		if k := ev.final(s).Kind; k != Skipped {
			t.Errorf("re-run: %s %s, want skipped", s, k)
		}
	}
	if after := revisions(); !maps.Equal(before, after) {
		t.Errorf("re-run changed revisions: %v -> %v", before, after)
	}

	// changed option: the port is in Traefik's, Gitea's and the runner's values
	e.in.Options.Port = 9443
	ev, err = e.run(t, false)
	if err != nil {
		t.Fatalf("run with --port 9443: %v", err)
	}
	after := revisions()
	for _, s := range []string{StepTraefik, StepGitea, StepRunner} {
		if ev.final(s).Kind != Done || after[s] != before[s]+1 {
			t.Errorf("%s after port change: %s, revision %d -> %d; want upgraded", s, ev.final(s).Kind, before[s], after[s])
		}
	}
	for _, s := range []string{StepRegistry, StepAgent} {
		if ev.final(s).Kind != Skipped || after[s] != before[s] {
			t.Errorf("%s after port change: %s, revision %d -> %d; want untouched", s, ev.final(s).Kind, before[s], after[s])
		}
	}

	// interrupted install: the agent's release left pending-install
	last := e.lastRevision(t, charts.AgentNamespace, charts.AgentRelease)
	last.Info.Status = rcommon.StatusPendingInstall
	if err := storage.Init(driver.NewSecrets(e.kube.CoreV1().Secrets(charts.AgentNamespace))).Update(last); err != nil {
		t.Fatal(err)
	}
	ev, err = e.run(t, false)
	if err != nil {
		t.Fatalf("run after interrupted install: %v", err)
	}
	if ev.final(StepAgent).Kind != Done || !strings.Contains(ev.logs(StepAgent), "pending-install") {
		t.Errorf("agent step: %s, logs %q; want done, recovery logged", ev.final(StepAgent).Kind, ev.logs(StepAgent))
	}
	if r := e.lastRevision(t, charts.AgentNamespace, charts.AgentRelease); r == nil || r.Info.Status != rcommon.StatusDeployed {
		t.Errorf("agent release after recovery: %+v", r)
	}

	// down
	if _, err := e.run(t, true); err != nil {
		t.Fatalf("undo: %v", err)
	}
	for step, r := range releases {
		if last := e.lastRevision(t, r[0], r[1]); last != nil {
			t.Errorf("%s: release %s still has revision %d (%s)", step, r[1], last.Version, last.Info.Status)
		}
		ns, err := e.kube.CoreV1().Namespaces().Get(ctx, r[0], metav1.GetOptions{})
		if err == nil && ns.DeletionTimestamp == nil {
			t.Errorf("%s: namespace %s PocketIDP created is still there", step, r[0])
		}
	}
	if _, err := e.kube.CoreV1().ConfigMaps("kube-public").Get(ctx, "local-registry-hosting", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("local-registry-hosting after down: %v, want NotFound", err)
	}
}

// TestChartStepsRepositoryUnreachable: with the chart repository down the
// chart steps fail with a fix naming --chart-dir, and nothing is created
// in the cluster.
func TestChartStepsRepositoryUnreachable(t *testing.T) {
	e := newChartEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close()
	// No --chart-dir: every upstream chart comes from the repository.
	inst, err := charts.New(charts.Options{Getter: e.in.Charts.Getter, CacheDir: t.TempDir(), Wait: charts.WaitHooksOnly, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	e.in.Charts.Installer, e.in.Options.ChartDir = inst, ""
	d := charts.DefaultSources()
	e.in.Charts.Sources = charts.Sources{
		Traefik: charts.Source{Repo: down, Chart: d.Traefik.Chart, Version: d.Traefik.Version},
		Gitea:   charts.Source{Repo: down, Chart: d.Gitea.Chart, Version: d.Gitea.Version},
		Agent:   charts.Source{Repo: down, Chart: d.Agent.Chart, Version: d.Agent.Version},
	}

	ev, err := e.run(t, false)
	if err == nil {
		t.Fatal("run with the chart repository down succeeded")
	}
	for _, step := range []string{StepTraefik, StepGitea, StepAgent} {
		f := ev.final(step)
		if f.Kind != Failed || !strings.Contains(f.Fix, "--chart-dir") || !strings.Contains(f.Message, down) {
			t.Errorf("%s: %s %q (fix %q); want failed naming the repository, fix naming --chart-dir", step, f.Kind, f.Message, f.Fix)
		}
	}
	for _, ns := range []string{charts.TraefikNamespace, charts.GiteaNamespace, charts.AgentNamespace, charts.RunnerNamespace} {
		if _, err := e.kube.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("namespace %s after failed run: %v, want NotFound", ns, err)
		}
	}
}

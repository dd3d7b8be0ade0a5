package charts

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rcommon "helm.sh/helm/v4/pkg/release/common"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/pocketidp/pocketidp/internal/report"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// env is a real API server, a local chart repository serving the stand-in
// charts of testdata/charts, and an installer aimed at them.
type env struct {
	cluster *testenv.Cluster
	repo    *testenv.ChartRepoServer
	kube    kubernetes.Interface
	inst    *Installer
	sources Sources
}

// standIns are small charts, named and versioned like the upstream charts,
// that render their values into a ConfigMap: these tests are about the
// installer's mechanics (install, no-op, upgrade, recovery, cache, cleanup),
// which want many releases side by side in one API server, and the real
// Traefik chart's cluster-wide objects (its IngressClass, CRDs) allow one.
// The real Traefik and Gitea charts are rendered in render_test.go and
// installed by the bootstrap and cli tests.
var standIns = []string{"traefik", "gitea", "humanitec-agent", "broken", "nodeport"}

func newEnv(t testing.TB) *env {
	t.Helper()
	c := testenv.SharedAPIServer(t)
	var dirs []string
	for _, n := range standIns {
		abs, err := filepath.Abs(filepath.Join("testdata", "charts", n))
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, abs)
	}
	repo := testenv.ChartRepo(t, dirs...)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{cluster: c, repo: repo, kube: cs}
	e.inst = e.installer(t, Options{})
	d := DefaultSources()
	e.sources = Sources{
		Traefik:  Source{Repo: repo.URL, Chart: d.Traefik.Chart, Version: d.Traefik.Version},
		Gitea:    Source{Repo: repo.URL, Chart: d.Gitea.Chart, Version: d.Gitea.Version},
		Agent:    Source{Repo: repo.URL, Chart: d.Agent.Chart, Version: d.Agent.Version},
		Registry: d.Registry, // the real charts: ours, built in
		Runner:   d.Runner,
	}
	return e
}

// installer makes an installer for the test's API server. The bare API
// server runs no pods, so nothing is waited for but hooks.
func (e *env) installer(t testing.TB, opts Options) *Installer {
	t.Helper()
	getter, err := GetterFromConfig(e.cluster.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	opts.Getter = getter
	if opts.CacheDir == "" {
		opts.CacheDir = t.TempDir()
	}
	opts.Wait = WaitHooksOnly
	opts.Timeout = time.Minute
	inst, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func (e *env) platform() Platform {
	p := testPlatform()
	p.Sources = e.sources
	return p
}

// unique gives a release its own namespace, so tests sharing the API server
// never meet.
func unique(t testing.TB, r Release) Release {
	r.Namespace = testenv.UniqueName(t)
	return r
}

// renderedValues reads back the values the stand-in chart rendered.
func (e *env) renderedValues(t *testing.T, rel Release) (chart string, vals map[string]any) {
	t.Helper()
	cm, err := e.kube.CoreV1().ConfigMaps(rel.Namespace).Get(context.Background(), rel.Name+"-values", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("rendered ConfigMap of %s: %v", rel.Name, err)
	}
	if err := json.Unmarshal([]byte(cm.Data["values.json"]), &vals); err != nil {
		t.Fatalf("values.json: %v", err)
	}
	return cm.Data["chart"], vals
}

func (e *env) history(t *testing.T, rel Release) []*releasev1.Release {
	t.Helper()
	cfg, unlock, err := e.inst.config(context.Background(), rel.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	h, err := cfg.Releases.History(rel.Name)
	if err != nil && !strings.Contains(err.Error(), "not found") {
		t.Fatal(err)
	}
	var out []*releasev1.Release
	for _, r := range h {
		out = append(out, r.(*releasev1.Release))
	}
	return out
}

func wantValues(t *testing.T, rel Release, got map[string]any) {
	t.Helper()
	want, err := rel.ValuesMap()
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(want)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Errorf("rendered values differ from the release's:\n got %s\nwant %s", b, a)
	}
}

// gone reports whether a namespace no longer exists or is being deleted
// (without a controller-manager it never finishes terminating).
func (e *env) nsGone(t *testing.T, name string) bool {
	t.Helper()
	ns, err := e.kube.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true
	}
	if err != nil {
		t.Fatal(err)
	}
	return ns.DeletionTimestamp != nil
}

// TestApplyLifecycle installs the Gitea release (a stand-in chart, real
// values), re-applies it (no new revision), upgrades it with changed
// values and uninstalls it, checking the cluster after each step.
func TestApplyLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rel := unique(t, Gitea(e.platform()))

	if done, err := e.inst.Done(ctx, rel); err != nil || done {
		t.Fatalf("Done before install = %v, %v; want false", done, err)
	}

	var steps []string
	progress := report.Reporter{Progress: func(cur, total int, msg string) { steps = append(steps, msg) }}
	res, err := e.inst.Apply(report.With(ctx, progress), rel)
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	if res.Outcome != Installed || res.Revision != 1 {
		t.Errorf("install = %+v, want installed revision 1", res)
	}
	if len(steps) == 0 {
		t.Error("install reported no progress")
	}
	chart, vals := e.renderedValues(t, rel)
	if chart != "gitea-12.7.0" {
		t.Errorf("rendered chart %q, want gitea-12.7.0", chart)
	}
	wantValues(t, rel, vals)
	s, err := e.kube.CoreV1().Secrets(rel.Namespace).Get(ctx, GiteaAdminSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("admin secret: %v", err)
	}
	if string(s.Data["password"]) != testPassword || string(s.Data["username"]) != "5minadmin" {
		t.Errorf("admin secret holds %q/%q", s.Data["username"], s.Data["password"])
	}
	ns, err := e.kube.CoreV1().Namespaces().Get(ctx, rel.Namespace, metav1.GetOptions{})
	if err != nil || ns.Labels[ManagedByLabel] != ManagedBy {
		t.Errorf("namespace %s: %v, labels %v; want it created and labelled", rel.Namespace, err, ns.Labels)
	}

	if done, err := e.inst.Done(ctx, rel); err != nil || !done {
		t.Fatalf("Done after install = %v, %v; want true", done, err)
	}
	res, err = e.inst.Apply(ctx, rel)
	if err != nil || res.Outcome != Unchanged || res.Revision != 1 {
		t.Fatalf("re-apply = %+v, %v; want unchanged revision 1", res, err)
	}
	if h := e.history(t, rel); len(h) != 1 {
		t.Errorf("re-apply left %d revisions, want 1", len(h))
	}

	// A changed option: the port moves ROOT_URL.
	p := e.platform()
	p.Port = 9443
	changed := Gitea(p)
	changed.Namespace = rel.Namespace
	if done, err := e.inst.Done(ctx, changed); err != nil || done {
		t.Fatalf("Done with changed values = %v, %v; want false", done, err)
	}
	res, err = e.inst.Apply(ctx, changed)
	if err != nil || res.Outcome != Upgraded || res.Revision != 2 {
		t.Fatalf("upgrade = %+v, %v; want upgraded revision 2", res, err)
	}
	_, vals = e.renderedValues(t, changed)
	wantValues(t, changed, vals)

	// A changed password alone changes the Secret and the checksum.
	p.GiteaAdminPassword = secret.New("another-password")
	pw := Gitea(p)
	pw.Namespace = rel.Namespace
	if res, err = e.inst.Apply(ctx, pw); err != nil || res.Outcome != Upgraded {
		t.Fatalf("password change = %+v, %v; want upgraded", res, err)
	}
	s, _ = e.kube.CoreV1().Secrets(rel.Namespace).Get(ctx, GiteaAdminSecret, metav1.GetOptions{})
	if string(s.Data["password"]) != "another-password" {
		t.Errorf("admin secret not updated: %q", s.Data["password"])
	}

	if err := e.inst.Uninstall(ctx, pw); err != nil {
		t.Fatalf("uninstall: %v", err)
	}
	if h := e.history(t, rel); len(h) != 0 {
		t.Errorf("uninstall left %d revisions", len(h))
	}
	if _, err := e.kube.CoreV1().ConfigMaps(rel.Namespace).Get(ctx, rel.Name+"-values", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("rendered ConfigMap after uninstall: %v, want NotFound", err)
	}
	if _, err := e.kube.CoreV1().Secrets(rel.Namespace).Get(ctx, GiteaAdminSecret, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("admin secret after uninstall: %v, want NotFound", err)
	}
	if !e.nsGone(t, rel.Namespace) {
		t.Errorf("namespace %s PocketIDP created is still there", rel.Namespace)
	}
	if err := e.inst.Uninstall(ctx, pw); err != nil {
		t.Errorf("second uninstall: %v, want nil (already gone)", err)
	}
}

// TestUninstallKeepsForeignNamespace checks a namespace PocketIDP did not
// create survives the uninstall of a release in it.
func TestUninstallKeepsForeignNamespace(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rel := Traefik(e.platform())
	rel.Namespace = e.cluster.Namespace(t) // the user's
	if _, err := e.inst.Apply(ctx, rel); err != nil {
		t.Fatal(err)
	}
	if err := e.inst.Uninstall(ctx, rel); err != nil {
		t.Fatal(err)
	}
	if e.nsGone(t, rel.Namespace) {
		t.Error("uninstall deleted a namespace PocketIDP did not create")
	}
}

// markLast rewrites the last revision's status, as a run killed between
// Helm recording the operation and finishing it leaves it.
func (e *env) markLast(t *testing.T, rel Release, status rcommon.Status) {
	t.Helper()
	h := e.history(t, rel)
	last := h[0]
	for _, r := range h {
		if r.Version > last.Version {
			last = r
		}
	}
	last.Info.Status = status
	cfg, unlock, err := e.inst.config(context.Background(), rel.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if err := cfg.Releases.Update(last); err != nil {
		t.Fatal(err)
	}
}

// TestApplyRecoversPendingInstall: an install interrupted after Helm
// recorded it leaves the release pending-install, which Helm would refuse
// to touch ("another operation is in progress"); Apply uninstalls it and
// installs again.
func TestApplyRecoversPendingInstall(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rel := unique(t, Traefik(e.platform()))
	if _, err := e.inst.Apply(ctx, rel); err != nil {
		t.Fatal(err)
	}
	e.markLast(t, rel, rcommon.StatusPendingInstall)
	if done, err := e.inst.Done(ctx, rel); err != nil || done {
		t.Fatalf("Done on a pending release = %v, %v; want false", done, err)
	}

	res, err := e.inst.Apply(ctx, rel)
	if err != nil {
		t.Fatalf("apply after interrupted install: %v", err)
	}
	if res.Recovered == "" || !strings.Contains(res.Recovered, "pending-install") {
		t.Errorf("Recovered = %q, want the pending install named", res.Recovered)
	}
	if res.Outcome != Installed || res.Revision != 1 {
		t.Errorf("result %+v, want installed revision 1", res)
	}
	h := e.history(t, rel)
	if len(h) != 1 || h[0].Info.Status != rcommon.StatusDeployed {
		t.Errorf("history after recovery: %d revisions, last %s; want 1 deployed", len(h), h[0].Info.Status)
	}
	_, vals := e.renderedValues(t, rel)
	wantValues(t, rel, vals)
}

// TestApplyRecoversPendingUpgrade: an upgrade interrupted the same way is
// rolled back to the last deployed revision, then upgraded.
func TestApplyRecoversPendingUpgrade(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rel := unique(t, Traefik(e.platform()))
	if _, err := e.inst.Apply(ctx, rel); err != nil {
		t.Fatal(err)
	}
	p := e.platform()
	p.Port = 9443
	changed := Traefik(p)
	changed.Namespace = rel.Namespace
	if _, err := e.inst.Apply(ctx, changed); err != nil {
		t.Fatal(err)
	}
	// Revision 2 left pending-upgrade with revision 1 still deployed, as
	// Helm leaves them mid-upgrade.
	e.markLast(t, rel, rcommon.StatusPendingUpgrade)
	first := e.history(t, rel)
	for _, r := range first {
		if r.Version == 1 {
			r.Info.Status = rcommon.StatusDeployed
			cfg, unlock, _ := e.inst.config(context.Background(), rel.Namespace)
			err := cfg.Releases.Update(r)
			unlock()
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	res, err := e.inst.Apply(ctx, changed)
	if err != nil {
		t.Fatalf("apply after interrupted upgrade: %v", err)
	}
	if !strings.Contains(res.Recovered, "rolled back to revision 1") {
		t.Errorf("Recovered = %q, want a rollback to revision 1", res.Recovered)
	}
	// Rollback made revision 3 (the values of 1); the upgrade revision 4.
	if res.Outcome != Upgraded || res.Revision != 4 {
		t.Errorf("result %+v, want upgraded revision 4", res)
	}
	_, vals := e.renderedValues(t, changed)
	wantValues(t, changed, vals)
}

// closedURL is an http URL on which nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// TestApplyRepositoryUnreachable: with the chart repository down, Apply
// fails naming --chart-dir as the fix and creates nothing: no namespace,
// no Secret, no release.
func TestApplyRepositoryUnreachable(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.platform()
	p.Sources.Gitea.Repo = closedURL(t)
	rel := unique(t, Gitea(p))

	_, err := e.inst.Apply(ctx, rel)
	var fe *FetchError
	if !errors.As(err, &fe) {
		t.Fatalf("Apply = %v, want a *FetchError", err)
	}
	for _, want := range []string{"--chart-dir", "gitea-12.7.0.tgz", "helm pull gitea --repo " + p.Sources.Gitea.Repo + " --version 12.7.0"} {
		if !strings.Contains(fe.Fix(), want) {
			t.Errorf("fix %q does not mention %q", fe.Fix(), want)
		}
	}
	if !strings.Contains(err.Error(), p.Sources.Gitea.Repo) {
		t.Errorf("error %q does not name the repository", err)
	}
	if _, err := e.kube.CoreV1().Namespaces().Get(ctx, rel.Namespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace after failed fetch: %v, want NotFound", err)
	}
	if h := e.history(t, rel); len(h) != 0 {
		t.Errorf("failed fetch left %d revisions", len(h))
	}
}

// TestApplyFromChartDir: an offline folder of archives is used before the
// network (which is down here); a mislabelled archive is refused.
func TestApplyFromChartDir(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	for _, a := range e.repo.Archives {
		if strings.HasPrefix(filepath.Base(a), "traefik-") {
			copyFile(t, a, filepath.Join(dir, filepath.Base(a)))
		}
		if strings.HasPrefix(filepath.Base(a), "gitea-") {
			// A gitea chart under the agent's archive name.
			copyFile(t, a, filepath.Join(dir, "humanitec-agent-1.2.10.tgz"))
		}
	}
	inst := e.installer(t, Options{ChartDir: dir})
	p := e.platform()
	p.Sources.Traefik.Repo = closedURL(t)
	p.Sources.Agent.Repo = closedURL(t)

	rel := unique(t, Traefik(p))
	res, err := inst.Apply(ctx, rel)
	if err != nil || res.Outcome != Installed {
		t.Fatalf("offline install = %+v, %v", res, err)
	}
	if chart, _ := e.renderedValues(t, rel); chart != "traefik-41.3.0" {
		t.Errorf("installed %q", chart)
	}

	_, err = inst.Apply(ctx, unique(t, Agent(p)))
	if err == nil || !strings.Contains(err.Error(), "holds chart gitea 12.7.0, want humanitec-agent 1.2.10") {
		t.Errorf("mislabelled archive: %v", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestApplyUsesCache: once downloaded, a chart upgrades with the
// repository gone.
func TestApplyUsesCache(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rel := unique(t, Agent(e.platform()))
	if _, err := e.inst.Apply(ctx, rel); err != nil {
		t.Fatal(err)
	}
	e.repo.Close()
	p := e.platform()
	p.HumanitecOrg = "other-org"
	changed := Agent(p)
	changed.Namespace = rel.Namespace
	res, err := e.inst.Apply(ctx, changed)
	if err != nil || res.Outcome != Upgraded {
		t.Fatalf("upgrade from the cache = %+v, %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(e.inst.opts.CacheDir, "humanitec-agent-1.2.10.tgz")); err != nil {
		t.Errorf("archive not in the cache: %v", err)
	}
}

// TestFailedInstallLeavesNothing: a chart the API server rejects fails the
// install, and what the install made is removed again.
func TestFailedInstallLeavesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rel := Release{
		Name: "broken", Namespace: testenv.UniqueName(t),
		Source:  Source{Repo: e.repo.URL, Chart: "broken", Version: "0.1.0"},
		Secrets: []Secret{{Name: "s", Data: map[string]secret.Value{"k": secret.New("v")}}},
	}
	if _, err := e.inst.Apply(ctx, rel); err == nil {
		t.Fatal("installing the broken chart succeeded")
	}
	if h := e.history(t, rel); len(h) != 0 {
		t.Errorf("failed install left %d revisions", len(h))
	}
	if _, err := e.kube.CoreV1().ConfigMaps(rel.Namespace).Get(ctx, "broken-first", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("first object of the failed install: %v, want NotFound", err)
	}
	if !e.nsGone(t, rel.Namespace) {
		t.Error("namespace of the failed install is still there")
	}
}

// TestApplyAllConcurrent applies four independent releases at once, the
// registry's real (built-in) chart among them, and checks the KEP-1755
// ConfigMap it writes to kube-public.
func TestApplyAllConcurrent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.platform()
	reg, err := Registry(p)
	if err != nil {
		t.Fatal(err)
	}
	rels := []Release{unique(t, Traefik(p)), unique(t, Gitea(p)), unique(t, Agent(p)), unique(t, reg)}
	results, err := applyAll(ctx, e.inst, rels)
	if err != nil {
		t.Fatal(err)
	}
	for n, r := range results {
		if r.Outcome != Installed || r.Release != rels[n].Name {
			t.Errorf("result %d = %+v, want %s installed", n, r, rels[n].Name)
		}
	}
	t.Cleanup(func() { _ = e.inst.Uninstall(context.Background(), rels[3]) })

	cm, err := e.kube.CoreV1().ConfigMaps("kube-public").Get(ctx, "local-registry-hosting", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("local-registry-hosting: %v", err)
	}
	var hosting LocalRegistryHosting
	if err := yaml.UnmarshalStrict([]byte(cm.Data["localRegistryHosting.v1"]), &hosting); err != nil {
		t.Fatalf("localRegistryHosting.v1 does not parse: %v", err)
	}
	if hosting.Host != "localhost:5001" || hosting.HostFromClusterNetwork != "registry.registry.svc.cluster.local:5000" {
		t.Errorf("localRegistryHosting.v1 = %+v", hosting)
	}
	dep, err := e.kube.AppsV1().Deployments(rels[3].Namespace).Get(ctx, "registry", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !dep.Spec.Template.Spec.HostNetwork {
		t.Error("registry does not listen on the node's network")
	}
	init := dep.Spec.Template.Spec.InitContainers[0]
	if init.Env[1].Name != "HOSTS_TOML" || !strings.Contains(init.Env[1].Value, `server = "http://localhost:5001"`) {
		t.Errorf("containerd hosts entry: %+v", init.Env)
	}

	// Everything there: a second ApplyAll changes nothing.
	results, err = applyAll(ctx, e.inst, rels)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Outcome != Unchanged {
			t.Errorf("second ApplyAll: %+v, want unchanged", r)
		}
	}
}

// TestApplyCancelled: a cancelled context stops Apply with the context's
// error.
func TestApplyCancelled(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.inst.Apply(ctx, unique(t, Traefik(e.platform())))
	if err == nil {
		t.Fatal("Apply with a cancelled context succeeded")
	}
}

// TestUninstallCancelled: Ctrl-C cuts an uninstall short although Helm's
// takes no context (here it waits for a pre-delete hook Job that no
// controller runs).
func TestUninstallCancelled(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "slowdown")
	files := map[string]string{
		"Chart.yaml":          "apiVersion: v2\nname: slowdown\nversion: 0.1.0\n",
		"templates/cm.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata: {}\n",
		"templates/hook.yaml": "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-pre-delete\n  annotations:\n    helm.sh/hook: pre-delete\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: wait\n        image: busybox\n",
	}
	for name, body := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	repo := testenv.ChartRepo(t, dir)
	rel := unique(t, Release{Name: "slowdown", Namespace: "slowdown", Source: Source{Repo: repo.URL, Chart: "slowdown", Version: "0.1.0"},
		Values: map[string]any{}, Timeout: 2 * time.Minute})
	if _, err := e.inst.Apply(context.Background(), rel); err != nil {
		t.Fatal(err)
	}
	// Its own installer: Helm goes on after the test.
	getter, err := GetterFromConfig(e.cluster.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	inst, err := New(Options{Getter: getter, CacheDir: t.TempDir(), Wait: WaitHooksOnly, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	err = inst.Uninstall(ctx, rel)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 30*time.Second {
		t.Fatalf("Uninstall = %v after %s; want the context's error at once", err, time.Since(start))
	}
}

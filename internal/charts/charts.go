// Package charts installs PocketIDP's Helm releases with the Helm v4 SDK:
// install or upgrade decided by the release history, pinned chart versions
// from chart repositories, OCI registries, a local folder or the binary
// itself, values built from Go structs, an explicit wait strategy and
// timeout, recovery of a release an interrupted run left pending, and
// uninstall. Independent releases can be applied at the same time.
//
// Each Helm verb is one action type of pkg/action, configured then run, as
// the Helm SDK intends; this package decides which verb a release needs.
package charts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"helm.sh/helm/v4/pkg/action"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/kube"
	"helm.sh/helm/v4/pkg/registry"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pocketidp/pocketidp/internal/cluster"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/report"
	"github.com/pocketidp/pocketidp/internal/secret"
)

// WaitStrategy is how long an install or upgrade waits after applying.
type WaitStrategy = kube.WaitStrategy

// Wait strategies.
const (
	// WaitReady waits until every resource of the release is ready
	// (Helm's kstatus watcher). The default, for real clusters.
	WaitReady = kube.StatusWatcherStrategy
	// WaitHooksOnly waits for hooks only, not for pods: for clusters with no
	// kubelet (the tests' bare API server), where nothing ever runs.
	WaitHooksOnly = kube.HookOnlyStrategy
)

// Labels PocketIDP puts on what it creates beside the charts (namespaces,
// Secrets), so uninstall removes only its own.
const (
	ManagedByLabel = config.ManagedByLabel
	ManagedBy      = config.ManagedBy
	releaseLabel   = "pocketidp.dev/release"
)

// Options configure an Installer. Getter is required.
type Options struct {
	// Getter reaches the cluster: GetterFromConfig or GetterFromKubeconfig.
	Getter RESTClientGetter
	// ChartDir holds chart archives named <chart>-<version>.tgz (as `helm
	// pull` names them) for offline installs; an archive found there is
	// used before the cache and the network.
	ChartDir string
	// CacheDir keeps downloaded archives; empty means the user's cache dir
	// (~/.cache/pocketidp/charts).
	CacheDir string
	// Wait is the wait strategy; empty means WaitReady.
	Wait kube.WaitStrategy
	// Timeout bounds one install, upgrade, rollback or uninstall (the
	// waiting included) when the release sets none; zero means 5 minutes.
	Timeout time.Duration
	// DownloadTimeout bounds one HTTP request for an index or archive; zero
	// means 2 minutes.
	DownloadTimeout time.Duration
	// PortWait bounds how long an install waits for a node port the API
	// server refuses as taken (see nodeport.go); zero means 10 minutes.
	PortWait time.Duration
	// PlainHTTPRegistry talks to OCI registries without TLS (tests).
	PlainHTTPRegistry bool
}

// Release is one Helm release as it should be.
type Release struct {
	Name      string
	Namespace string
	Source    Source
	// Values is a struct (or map) marshalled to the chart's values through
	// its json tags: values are data, never text templated into YAML.
	Values any
	// Secrets are created in the namespace before the chart is installed,
	// for values the chart reads from an existing Secret (passwords, tokens)
	// rather than from plain values.
	Secrets []Secret
	// NamespaceLabels go on the namespace when this package creates it.
	NamespaceLabels map[string]string
	// Timeout bounds each Helm operation; zero means Options.Timeout.
	Timeout time.Duration
}

// Secret is a Secret a release needs before its chart.
type Secret struct {
	Name string
	Data map[string]secret.Value
}

// Outcome says what Apply did.
type Outcome string

// Outcomes of Apply.
const (
	Installed Outcome = "installed"
	Upgraded  Outcome = "upgraded"
	Unchanged Outcome = "unchanged"
)

// Result is what Apply did to one release.
type Result struct {
	Release  string
	Outcome  Outcome
	Revision int
	// Recovered describes a pending release an interrupted run left behind
	// and what was done about it; empty when there was none.
	Recovered string
}

// Progress reports a sub-action; total 0 means unknown. Nil is allowed.
type Progress func(current, total int, msg string)

// Installer applies releases. It is safe for concurrent use by several
// goroutines, each applying a different release.
type Installer struct {
	chartLoader
	kube   kubernetes.Interface
	shared *shared
}

// chartLoader finds charts: built in, in --chart-dir, in the download cache or
// on the network. The Installer and the Renderer share it.
type chartLoader struct {
	opts     Options
	registry *registry.Client
}

// newLoader fills the options' defaults and makes the registry client.
func newLoader(opts Options) (chartLoader, error) {
	if opts.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return chartLoader{}, fmt.Errorf("charts: find the cache dir: %w", err)
		}
		opts.CacheDir = filepath.Join(dir, "pocketidp", "charts")
	}
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return chartLoader{}, fmt.Errorf("charts: create cache dir: %w", err)
	}
	if opts.Wait == "" {
		opts.Wait = WaitReady
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Minute
	}
	if opts.DownloadTimeout == 0 {
		opts.DownloadTimeout = 2 * time.Minute
	}
	reg, err := newRegistryClient(opts)
	if err != nil {
		return chartLoader{}, err
	}
	return chartLoader{opts: opts, registry: reg}, nil
}

// New checks the options and prepares the clients. It reaches nothing yet.
func New(opts Options) (*Installer, error) {
	if opts.Getter == nil {
		return nil, errors.New("charts: no cluster to install into (Options.Getter is nil)")
	}
	ld, err := newLoader(opts)
	if err != nil {
		return nil, err
	}
	rc, err := opts.Getter.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("charts: kubernetes config: %w", err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("charts: kubernetes client: %w", err)
	}
	return &Installer{chartLoader: ld, kube: cs, shared: &shared{ns: map[string]*nsConfig{}}}, nil
}

// config returns the Helm action configuration of a namespace, storing
// releases as Secrets (Helm's default driver), and locks the namespace
// until done is called: operations in one namespace take turns, operations
// in different namespaces run at the same time. Configurations are kept, so
// the cluster's capabilities and clients are looked up once per namespace.
func (i *Installer) config(ctx context.Context, ns string) (cfg *action.Configuration, done func(), err error) {
	i.shared.mu.Lock()
	c := i.shared.ns[ns]
	if c == nil {
		c = &nsConfig{log: &switchHandler{}}
		i.shared.ns[ns] = c
	}
	i.shared.mu.Unlock()

	c.mu.Lock()
	// Helm reports to the current caller (a step's logger).
	c.log.set(report.From(ctx).Logger().Handler())
	if c.cfg == nil {
		cfg := action.NewConfiguration(action.ConfigurationSetLogger(c.log))
		if err := cfg.Init(inNamespace(i.opts.Getter, ns), ns, "secret"); err != nil {
			c.mu.Unlock()
			return nil, nil, fmt.Errorf("helm configuration for namespace %s: %w", ns, err)
		}
		if kc, ok := cfg.KubeClient.(*kube.Client); ok {
			kc.Namespace = ns
		}
		cfg.RegistryClient = i.registry
		c.cfg = cfg
	}
	return c.cfg, c.mu.Unlock, nil
}

// shared is what an Installer's copies share.
type shared struct {
	mu sync.Mutex
	ns map[string]*nsConfig
}

type nsConfig struct {
	mu  sync.Mutex
	cfg *action.Configuration
	log *switchHandler
}

// switchHandler sends records to the handler set last, so a kept Helm
// configuration reports to whichever step uses it now.
type switchHandler struct {
	mu     sync.Mutex
	h      slog.Handler
	attrs  []slog.Attr
	groups []string
	parent *switchHandler
}

func (s *switchHandler) set(h slog.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.h = h
}

func (s *switchHandler) current() slog.Handler {
	if s.parent != nil {
		h := s.parent.current()
		for _, g := range s.groups {
			h = h.WithGroup(g)
		}
		return h.WithAttrs(s.attrs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == nil {
		return slog.DiscardHandler
	}
	return s.h
}

func (s *switchHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return s.current().Enabled(ctx, l)
}

func (s *switchHandler) Handle(ctx context.Context, r slog.Record) error {
	return s.current().Handle(ctx, r)
}

func (s *switchHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &switchHandler{parent: s, attrs: attrs}
}

func (s *switchHandler) WithGroup(name string) slog.Handler {
	return &switchHandler{parent: s, groups: []string{name}}
}

func (i *Installer) timeout(rel Release) time.Duration {
	if rel.Timeout > 0 {
		return rel.Timeout
	}
	return i.opts.Timeout
}

// Values marshals the release's values struct into the map Helm takes.
// Numbers come back as float64, exactly as Helm reads values files, so the
// map compares equal to what Helm stores for the release.
func (r Release) ValuesMap() (map[string]any, error) {
	if r.Values == nil {
		return map[string]any{}, nil
	}
	return normalize(r.Values)
}

func normalize(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal values: %w", err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("values are not an object: %w", err)
	}
	return m, nil
}

// history returns the last revision and the last deployed one (either may
// be nil) of a release.
func history(cfg *action.Configuration, name string) (last, deployed *releasev1.Release, err error) {
	h, err := cfg.Releases.History(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read history of release %s: %w", name, err)
	}
	for _, ri := range h {
		r, ok := ri.(*releasev1.Release)
		if !ok {
			return nil, nil, fmt.Errorf("release %s: unexpected release type %T", name, ri)
		}
		if last == nil || r.Version > last.Version {
			last = r
		}
		if r.Info.Status == rcommon.StatusDeployed && (deployed == nil || r.Version > deployed.Version) {
			deployed = r
		}
	}
	return last, deployed, nil
}

// matches reports whether a release revision has the chart version and
// values wanted.
func matches(r *releasev1.Release, src Source, version string, vals map[string]any) (bool, error) {
	if r.Chart == nil || r.Chart.Metadata == nil ||
		r.Chart.Metadata.Name != src.Chart || r.Chart.Metadata.Version != version {
		return false, nil
	}
	have, err := normalize(r.Config)
	if err != nil {
		return false, err
	}
	if len(have) == 0 && len(vals) == 0 {
		return true, nil
	}
	return reflect.DeepEqual(have, vals), nil
}

// Done reports whether the release is deployed with the chart version and
// values wanted and its Secrets hold what they should: then Apply has
// nothing to do. It reads the cluster only.
func (i *Installer) Done(ctx context.Context, rel Release) (bool, error) {
	vals, err := rel.ValuesMap()
	if err != nil {
		return false, err
	}
	cfg, unlock, err := i.config(ctx, rel.Namespace)
	if err != nil {
		return false, err
	}
	last, _, err := history(cfg, rel.Name)
	unlock()
	if err != nil || last == nil || last.Info.Status != rcommon.StatusDeployed {
		return false, err
	}
	ok, err := matches(last, rel.Source, i.installedVersion(rel.Source), vals)
	if err != nil || !ok {
		return false, err
	}
	return i.secretsCurrent(ctx, rel)
}

// Apply brings the release to what rel says: it installs it when it has no
// history (or was uninstalled), upgrades it when the chart version or
// values differ, and does nothing (no new revision) when they match. A
// release an interrupted run left pending is recovered first, as Helm
// advises: a pending upgrade or rollback is rolled back to the last
// deployed revision; a pending install, which has none, is uninstalled and
// installed again. The chart is fetched before anything is created, so an
// unreachable repository leaves the cluster untouched.
//
// Recovery assumes no other Helm client is working on the release at the
// same time; PocketIDP's state lock ensures that for its own runs.
func (i *Installer) Apply(ctx context.Context, rel Release) (Result, error) {
	progress := report.From(ctx).Step
	if progress == nil {
		progress = func(int, int, string) {}
	}
	res := Result{Release: rel.Name}
	vals, err := rel.ValuesMap()
	if err != nil {
		return res, fmt.Errorf("release %s: %w", rel.Name, err)
	}
	cfg, unlock, err := i.config(ctx, rel.Namespace)
	if err != nil {
		return res, err
	}
	defer unlock()
	last, deployed, err := history(cfg, rel.Name)
	if err != nil {
		return res, err
	}

	if last != nil && last.Info.Status.IsPending() {
		progress(0, 0, fmt.Sprintf("recovering release %s left %s", rel.Name, last.Info.Status))
		if res.Recovered, err = i.recover(ctx, cfg, rel, last, deployed); err != nil {
			return res, err
		}
		if last, deployed, err = history(cfg, rel.Name); err != nil {
			return res, err
		}
	}

	if last != nil && last.Info.Status == rcommon.StatusDeployed {
		same, err := matches(last, rel.Source, i.installedVersion(rel.Source), vals)
		if err != nil {
			return res, err
		}
		if same {
			// The release is as wanted; only Secrets can have drifted.
			if err := i.ensureSecrets(ctx, rel); err != nil {
				return res, err
			}
			res.Outcome, res.Revision = Unchanged, last.Version
			return res, nil
		}
	}

	progress(1, 3, "fetching chart "+rel.Source.String())
	ch, err := i.loadChart(ctx, rel.Source)
	if err != nil {
		return res, fmt.Errorf("release %s: %w", rel.Name, err)
	}

	switch {
	case last == nil || last.Info.Status == rcommon.StatusUninstalled:
		progress(2, 3, "installing "+rel.Name)
		r, err := i.install(ctx, cfg, rel, ch, vals, last != nil)
		if err != nil {
			return res, err
		}
		res.Outcome, res.Revision = Installed, r.Version
	case deployed == nil:
		// Only failed revisions: nothing to upgrade from. Start again.
		progress(2, 3, "reinstalling "+rel.Name+" (no revision was ever deployed)")
		if err := i.uninstallRelease(cfg, rel); err != nil {
			return res, err
		}
		r, err := i.install(ctx, cfg, rel, ch, vals, false)
		if err != nil {
			return res, err
		}
		res.Outcome, res.Revision = Installed, r.Version
	default:
		progress(2, 3, "upgrading "+rel.Name)
		if err := i.ensureSecrets(ctx, rel); err != nil {
			return res, err
		}
		up := action.NewUpgrade(cfg)
		up.Namespace = rel.Namespace
		up.WaitStrategy = i.opts.Wait
		up.Timeout = i.timeout(rel)
		// The values are complete every time: start from the chart's
		// defaults, never from what an older revision was given.
		up.ResetValues = true
		up.CleanupOnFail = true
		up.MaxHistory = maxHistory
		ri, err := up.RunWithContext(ctx, rel.Name, ch, vals)
		if err != nil {
			return res, fmt.Errorf("upgrade release %s to %s: %w", rel.Name, rel.Source, err)
		}
		r, ok := ri.(*releasev1.Release)
		if !ok {
			return res, fmt.Errorf("upgrade release %s: unexpected release type %T", rel.Name, ri)
		}
		res.Outcome, res.Revision = Upgraded, r.Version
	}
	progress(3, 3, fmt.Sprintf("%s %s revision %d", rel.Name, res.Outcome, res.Revision))
	return res, nil
}

// maxHistory bounds the revisions (Secrets) Helm keeps per release.
const maxHistory = 5

// install installs the release. When Helm fails (not when ctx ends: then
// Helm goes on in the background and the next run recovers), what this
// call created is removed again, so a failed install leaves nothing behind.
func (i *Installer) install(ctx context.Context, cfg *action.Configuration, rel Release, ch *chart.Chart, vals map[string]any, replace bool) (*releasev1.Release, error) {
	createdNS, err := i.ensureNamespace(ctx, rel)
	if err != nil {
		return nil, err
	}
	if err := i.ensureSecrets(ctx, rel); err != nil {
		i.cleanup(ctx, cfg, rel, createdNS, false)
		return nil, err
	}
	r, err := i.runInstall(ctx, cfg, rel, ch, vals, replace)
	if err != nil {
		if ctx.Err() == nil {
			i.cleanup(ctx, cfg, rel, createdNS, true)
		}
		var pt *PortTakenError
		if errors.As(err, &pt) {
			return nil, err
		}
		return nil, fmt.Errorf("install release %s (%s): %w", rel.Name, rel.Source, err)
	}
	return r, nil
}

// cleanup removes what a failed install made. It runs on its own deadline:
// the caller's may be what failed.
func (i *Installer) cleanup(ctx context.Context, cfg *action.Configuration, rel Release, createdNS, release bool) {
	if release {
		if err := i.uninstallRelease(cfg, rel); err != nil {
			report.From(ctx).Logger().Warn("removing the failed release", "release", rel.Name, "error", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), i.timeout(rel))
	defer cancel()
	if err := i.deleteSecrets(ctx, rel); err != nil {
		report.From(ctx).Logger().Warn("removing the release's secrets", "release", rel.Name, "error", err)
	}
	if createdNS {
		if err := i.kube.CoreV1().Namespaces().Delete(ctx, rel.Namespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			report.From(ctx).Logger().Warn("removing the namespace", "namespace", rel.Namespace, "error", err)
		}
	}
}

// recover deals with a release left pending-install, pending-upgrade or
// pending-rollback by a run that was interrupted (Helm gives such a
// release no way forward: every upgrade fails with "another operation is
// in progress"). It returns what it did.
func (i *Installer) recover(ctx context.Context, cfg *action.Configuration, rel Release, last, deployed *releasev1.Release) (string, error) {
	if deployed != nil && last.Info.Status != rcommon.StatusPendingInstall {
		msg := fmt.Sprintf("revision %d was left %s; rolled back to revision %d", last.Version, last.Info.Status, deployed.Version)
		report.From(ctx).Logger().Warn("release " + rel.Name + ": " + msg)
		rb := action.NewRollback(cfg)
		rb.Version = deployed.Version
		rb.WaitStrategy = i.opts.Wait
		rb.Timeout = i.timeout(rel)
		rb.MaxHistory = maxHistory
		if err := rb.Run(rel.Name); err != nil {
			return "", fmt.Errorf("release %s was left %s by an interrupted run; rolling back to revision %d failed: %w",
				rel.Name, last.Info.Status, deployed.Version, err)
		}
		return msg, ctx.Err()
	}
	msg := fmt.Sprintf("revision %d was left %s with no deployed revision; uninstalled to install again", last.Version, last.Info.Status)
	report.From(ctx).Logger().Warn("release " + rel.Name + ": " + msg)
	if err := i.uninstallRelease(cfg, rel); err != nil {
		return "", fmt.Errorf("release %s was left %s by an interrupted run; uninstalling it failed: %w", rel.Name, last.Info.Status, err)
	}
	return msg, ctx.Err()
}

func (i *Installer) uninstallRelease(cfg *action.Configuration, rel Release) error {
	un := action.NewUninstall(cfg)
	un.IgnoreNotFound = true
	un.WaitStrategy = i.opts.Wait
	un.Timeout = i.timeout(rel)
	if _, err := un.Run(rel.Name); err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		return fmt.Errorf("uninstall release %s: %w", rel.Name, err)
	}
	return nil
}

// Uninstall removes the release, the Secrets made for it and its namespace
// when PocketIDP created it. A release already gone is not an error.
func (i *Installer) Uninstall(ctx context.Context, rel Release) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("uninstall release %s: %w", rel.Name, err)
	}
	cfg, unlock, err := i.config(ctx, rel.Namespace)
	if err != nil {
		return err
	}
	// Helm's uninstall takes no context, and waits (hooks, resources) up to
	// its timeout: it runs aside so that Ctrl-C ends `down` at once. It
	// keeps the namespace's lock until it is done, in the background.
	done := make(chan error, 1)
	go func() {
		defer unlock()
		done <- i.uninstallRelease(cfg, rel)
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		return fmt.Errorf("uninstall release %s: %w (Helm goes on until pocketidp exits; run down again)", rel.Name, ctx.Err())
	}
	if err != nil {
		return err
	}
	if err := i.deleteSecrets(ctx, rel); err != nil {
		return err
	}
	ns, err := i.kube.CoreV1().Namespaces().Get(ctx, rel.Namespace, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("read namespace %s: %w", rel.Namespace, err)
	case ns.Labels[ManagedByLabel] != ManagedBy || ns.Labels[releaseLabel] != rel.Name:
		return nil // not ours (or shared): keep it
	}
	if err := i.kube.CoreV1().Namespaces().Delete(ctx, rel.Namespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s: %w", rel.Namespace, err)
	}
	return nil
}

// ensureNamespace creates the release's namespace unless it exists, and
// reports whether it did, telling the step's log when it first has to wait
// for the namespace to finish terminating.
//
// It takes no lock: releases applied at the same time may share a
// namespace, and the API server already settles which of them made it (one
// create succeeds, the others get AlreadyExists and report false), so only
// that one removes it again on failure or uninstall. A lock here would only
// queue every other release's namespace behind one that waits, maybe for
// minutes, on a terminating namespace, and could not be given up when ctx
// ends.
func (i *Installer) ensureNamespace(ctx context.Context, rel Release) (bool, error) {
	labels := map[string]string{ManagedByLabel: ManagedBy, releaseLabel: rel.Name}
	maps.Copy(labels, rel.NamespaceLabels)
	return cluster.EnsureNamespace(ctx, i.kube, rel.Namespace, labels, func(msg string) {
		report.From(ctx).Logger().Info(msg, "release", rel.Name)
	})
}

func secretObject(rel Release, s Secret) *corev1.Secret {
	data := make(map[string][]byte, len(s.Data))
	for k, v := range s.Data {
		data[k] = []byte(v.Reveal())
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: rel.Namespace,
			Labels: map[string]string{ManagedByLabel: ManagedBy, releaseLabel: rel.Name}},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
}

// ensureSecrets creates or updates the release's Secrets. A Secret of that
// name that PocketIDP did not make is left alone and reported.
func (i *Installer) ensureSecrets(ctx context.Context, rel Release) error {
	secrets := i.kube.CoreV1().Secrets(rel.Namespace)
	for _, s := range rel.Secrets {
		want := secretObject(rel, s)
		have, err := secrets.Get(ctx, s.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			if _, err := secrets.Create(ctx, want, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("create secret %s/%s: %w", rel.Namespace, s.Name, err)
			}
		case err != nil:
			return fmt.Errorf("read secret %s/%s: %w", rel.Namespace, s.Name, err)
		case have.Labels[ManagedByLabel] != ManagedBy:
			return fmt.Errorf("secret %s/%s exists and was not made by PocketIDP; delete it or install into another cluster", rel.Namespace, s.Name)
		case !reflect.DeepEqual(have.Data, want.Data):
			have.Data = want.Data
			if _, err := secrets.Update(ctx, have, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("update secret %s/%s: %w", rel.Namespace, s.Name, err)
			}
		}
	}
	return nil
}

// secretsCurrent reports whether every Secret of the release holds what it
// should.
func (i *Installer) secretsCurrent(ctx context.Context, rel Release) (bool, error) {
	for _, s := range rel.Secrets {
		have, err := i.kube.CoreV1().Secrets(rel.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("read secret %s/%s: %w", rel.Namespace, s.Name, err)
		}
		if !reflect.DeepEqual(have.Data, secretObject(rel, s).Data) {
			return false, nil
		}
	}
	return true, nil
}

func (i *Installer) deleteSecrets(ctx context.Context, rel Release) error {
	secrets := i.kube.CoreV1().Secrets(rel.Namespace)
	for _, s := range rel.Secrets {
		have, err := secrets.Get(ctx, s.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read secret %s/%s: %w", rel.Namespace, s.Name, err)
		}
		if have.Labels[ManagedByLabel] != ManagedBy {
			continue
		}
		if err := secrets.Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete secret %s/%s: %w", rel.Namespace, s.Name, err)
		}
	}
	return nil
}

// HasSecret reports whether a Secret exists.
func (i *Installer) HasSecret(ctx context.Context, namespace, name string) (bool, error) {
	_, err := i.kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read secret %s/%s: %w", namespace, name, err)
	}
	return true, nil
}

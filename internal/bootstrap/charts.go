package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pocketidp/pocketidp/internal/charts"
	"github.com/pocketidp/pocketidp/internal/cluster"
	"github.com/pocketidp/pocketidp/internal/orchestrator"
	"github.com/pocketidp/pocketidp/internal/secret"
)

// ChartsInput is what the chart steps need beyond the options: set by the
// wiring and by the steps before them.
type ChartsInput struct {
	// Getter reaches the cluster; the cluster step sets it
	// (charts.GetterFromConfig(access.RESTConfig)).
	Getter charts.RESTClientGetter
	// Installer, when set, is used as it is (tests set one that does not
	// wait for pods); otherwise one is made from Getter and the options.
	Installer *charts.Installer
	// Wait is how long installs wait: empty means until pods are ready;
	// charts.WaitHooksOnly suits a cluster without a kubelet (the test bed).
	Wait charts.WaitStrategy
	// Sources override the charts (tests); zero means the pinned ones.
	Sources charts.Sources
}

// Chart step names.
const (
	StepTraefik  = "charts/traefik"
	StepGitea    = "charts/gitea"
	StepRegistry = "charts/registry"
	StepRunner   = "charts/runner"
	StepAgent    = "charts/agent"
	// StepRunnerToken is the Gitea step that gets the runner registration
	// token into Install.RunnerToken.
	StepRunnerToken = "gitea/runner-token"
)

// chartsSteps are the chart releases as steps (their order: the edges in
// plan.go).
func chartsSteps(in *Install) []Step {
	steps := []Step{
		{Action: chartStep{in: in, name: StepTraefik, release: func(p charts.Platform) (charts.Release, error) {
			return charts.Traefik(p), nil
		}}, Timeout: 7 * time.Minute},
		{Action: chartStep{in: in, name: StepGitea, timeout: 8 * time.Minute, release: func(p charts.Platform) (charts.Release, error) {
			return charts.Gitea(p), nil
		}}, Timeout: 10 * time.Minute},
		{Action: chartStep{in: in, name: StepRegistry, release: charts.Registry, check: func(ctx context.Context, sc *StepContext, _ *charts.Installer, _ charts.Release, _ charts.Platform) error {
			return registryNodesCheck(ctx, in, sc)
		}}, Timeout: 7 * time.Minute},
		{Action: chartStep{in: in, name: StepRunner, timeout: 8 * time.Minute, release: charts.Runner, check: runnerTokenCheck, token: true}, Timeout: 10 * time.Minute},
	}
	// The local orchestrator deploys itself: no agent.
	if !in.Options.SkipHumanitec && !in.Options.LocalOrchestrator() {
		steps = append(steps, Step{Action: chartStep{in: in, name: StepAgent, agentKey: true, release: func(p charts.Platform) (charts.Release, error) {
			return charts.Agent(p), nil
		}}, Timeout: 7 * time.Minute})
	}
	return steps
}

// chartStep applies one release: Done when it is deployed with the same
// chart version and values, Undo uninstalls it.
type chartStep struct {
	in      *Install
	name    string
	timeout time.Duration // of each Helm operation; zero means the installer's
	release func(charts.Platform) (charts.Release, error)
	// check runs before the release is applied.
	check func(ctx context.Context, sc *StepContext, inst *charts.Installer, rel charts.Release, p charts.Platform) error
	// token: the release registers a runner with runnerToken's output.
	token bool
	// agentKey: the release holds the Humanitec agent's private key.
	agentKey bool
}

func (s chartStep) Name() string { return s.name }

func (s chartStep) prepare(ctx context.Context, sc *StepContext) (*charts.Installer, charts.Release, charts.Platform, error) {
	inst, err := s.in.chartInstaller(ctx)
	if err != nil {
		return nil, charts.Release{}, charts.Platform{}, err
	}
	p, err := s.in.platform()
	if err != nil {
		return nil, charts.Release{}, p, err
	}
	if s.token {
		if p.RunnerToken, err = runnerToken.Get(sc); err != nil {
			return nil, charts.Release{}, p, err
		}
	}
	if s.agentKey {
		if p.AgentPrivateKey, err = s.in.agentPrivateKey(); err != nil {
			return nil, charts.Release{}, p, err
		}
	}
	rel, err := s.release(p)
	if err != nil {
		return nil, rel, p, err
	}
	if s.timeout > 0 {
		rel.Timeout = s.timeout
	}
	return inst, rel, p, nil
}

func (s chartStep) Run(ctx context.Context, sc *StepContext) error {
	inst, rel, p, err := s.prepare(ctx, sc)
	if err != nil {
		return err
	}
	if s.check != nil {
		if err := s.check(ctx, sc, inst, rel, p); err != nil {
			return err
		}
	}
	res, err := inst.Apply(ctx, rel)
	if err != nil {
		return err
	}
	if res.Recovered != "" {
		sc.Logger().Warn("recovered an interrupted run: " + res.Recovered)
	}
	sc.Logger().Info(fmt.Sprintf("release %s %s (revision %d, chart %s)", rel.Name, res.Outcome, res.Revision, rel.Source))
	return nil
}

func (s chartStep) Done(ctx context.Context, sc *StepContext) (bool, error) {
	inst, rel, _, err := s.prepare(ctx, sc)
	if err != nil {
		return false, err
	}
	return inst.Done(ctx, rel)
}

func (s chartStep) Undo(ctx context.Context, sc *StepContext) error {
	// `down` runs no cluster step, so reach the cluster here; when it is
	// gone, its releases went with it.
	if _, err := s.in.Kube(ctx); errors.Is(err, cluster.ErrNotFound) {
		sc.Logger().Info("the cluster is gone, and the release with it")
		return nil
	} else if err != nil {
		return err
	}
	inst, rel, _, err := s.prepare(ctx, sc)
	if err != nil {
		return err
	}
	return inst.Uninstall(ctx, rel)
}

// runnerTokenCheck: Gitea hands out no token once a runner is registered;
// then the Secret an earlier run made must still be there.
func runnerTokenCheck(ctx context.Context, _ *StepContext, inst *charts.Installer, rel charts.Release, p charts.Platform) error {
	if !p.RunnerToken.Empty() {
		return nil
	}
	ok, err := inst.HasSecret(ctx, rel.Namespace, charts.RunnerTokenSecret)
	if err != nil || ok {
		return err
	}
	return fmt.Errorf("no runner registration token: Gitea reports a runner registered already, and the %s/%s Secret of an earlier run is gone (fix: remove the stale runner in Gitea's site administration, Actions, Runners, then run up again)",
		rel.Namespace, charts.RunnerTokenSecret)
}

// registryNodesCheck warns that the registry serves one node: it is that
// node's localhost:5001, where its container runtime pulls from. PocketIDP's
// kind cluster has one node; an existing cluster may have more, and a pod on
// another node cannot pull localhost:5001 images.
func registryNodesCheck(ctx context.Context, in *Install, sc *StepContext) error {
	cs, err := in.Clientset(ctx)
	if err != nil {
		return err
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list the cluster's nodes: %w", err)
	}
	if n := len(nodes.Items); n > 1 {
		sc.Logger().Warn(fmt.Sprintf("the cluster has %d nodes and the registry serves one of them: pods that pull %s/… images must run on the registry's node (see `kubectl -n %s get pods -o wide`; fix: pin them there with a nodeSelector, or use a one-node cluster)",
			n, charts.RegistryHost, charts.RegistryNamespace))
	}
	return nil
}

// runnerToken is the runner registration token gitea/runner-token got from
// Gitea, for charts/runner; empty when a runner is registered already.
var runnerToken = Output[secret.Value]{Step: StepRunnerToken}

// platform is what the releases are made from: the options, and what
// earlier steps left in the state dir (the CA). The runner token and the
// agent's key are added by the steps that use them.
func (in *Install) platform() (charts.Platform, error) {
	o := in.Options
	p := charts.Platform{
		Name: o.Name, Port: o.Port,
		GiteaAdmin: o.GiteaAdmin, GiteaAdminPassword: o.GiteaAdminPassword,
		AllowLocalMigrations: o.BackstageRepoLocal(),
		CACert:               in.caCertPEM(),
		HumanitecOrg:         o.HumanitecOrg,
		Sources:              in.Charts.Sources,
	}
	if o.LocalOrchestrator() {
		// CI jobs (humctl in the workflows) talk to the local
		// orchestrator through the ingress, as the host does.
		p.JobEnv = orchestrator.ClientEnv(orchestrator.URL(o.Port))
	}
	return p, nil
}

// chartInstaller returns the install's chart installer, made on first use
// (reaching the cluster as Kube does).
func (in *Install) chartInstaller(ctx context.Context) (*charts.Installer, error) {
	in.mu.Lock()
	getter := in.Charts.Getter
	in.mu.Unlock()
	if getter == nil {
		if _, err := in.Kube(ctx); err != nil {
			return nil, err
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.Charts.Installer != nil {
		return in.Charts.Installer, nil
	}
	if in.Charts.Getter == nil {
		return nil, errors.New("no cluster to install the charts into: the cluster step did not run")
	}
	opts := charts.Options{Getter: in.Charts.Getter, ChartDir: in.Options.ChartDir, Wait: in.Charts.Wait}
	if in.Options.StateDir != "" {
		// Beside the state, so `down` and a re-run find the downloads.
		opts.CacheDir = filepath.Join(in.Options.StateDir, "charts")
	}
	inst, err := charts.New(opts)
	if err != nil {
		return nil, err
	}
	in.Charts.Installer = inst
	return inst, nil
}

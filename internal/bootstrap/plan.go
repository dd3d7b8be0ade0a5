package bootstrap

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/client-go/rest"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/state"
)

// Step names of the whole run that are not a concept's own.
const (
	StepState = "state"
)

// ValueBackstageURL is the state key of Backstage's URL once it is known.
const ValueBackstageURL = "backstage/url"

// UpPlan is everything `up` does after the doctor passed, with the state
// open: each concept's steps, tied together by what one needs of another.
//
//	state → humanitec/check (when not skipped) → everything else:
//	  cluster → tls → charts/traefik ─┐
//	                └→ coredns, charts/gitea ─┴→ gitea/* → charts/runner
//	  env type, agent, apps, values, definitions (need the cluster)
//	  humanitec/agent → charts/agent;  everything → gitea/trigger (Backstage's first build)
//	with --wait: gitea/trigger → backstage/build → backstage/deploy → backstage/ready
func UpPlan(in *Install) (*Plan, error) {
	if in.Humanitec.Cluster == nil {
		in.Humanitec.Cluster = in.clusterData
	}
	steps := []Step{{Action: stateStep{in}}}
	steps = append(steps, clusterSteps(in)...)
	steps = append(steps, chartsSteps(in)...)
	steps = append(steps, giteaSteps(in)...)
	steps = append(steps, humanitecSteps(in)...)
	steps = append(steps, backstageSteps(in)...)

	has := func(name string) bool {
		return slices.ContainsFunc(steps, func(s Step) bool { return s.Action.Name() == name })
	}
	need := func(name string, needs ...string) {
		for i := range steps {
			if steps[i].Action.Name() != name {
				continue
			}
			for _, n := range needs {
				if has(n) && !slices.Contains(steps[i].Needs, n) {
					steps[i].Needs = append(steps[i].Needs, n)
				}
			}
		}
	}
	need(StepTraefik, StepTLS)
	need(StepGitea, StepCluster, StepCoreDNS)
	need(StepRegistry, StepCluster)
	need(StepAgent, StepCluster, StepHumanitecAgent)
	need(StepGiteaReady, StepGitea, StepTraefik)
	need(StepHumanitecDefinitions, StepCluster)
	need(StepGiteaTrigger, StepRunner, StepHumanitecValues, StepHumanitecDefinitions, StepAgent)
	// On `down`, Humanitec deletes the apps' resources in the cluster and
	// drops the definitions through the agent: its chart goes after them.
	undoAfter := func(name string, after ...string) {
		for i := range steps {
			if steps[i].Action.Name() != name {
				continue
			}
			for _, a := range after {
				if has(a) {
					steps[i].UndoAfter = append(steps[i].UndoAfter, a)
				}
			}
		}
	}
	undoAfter(StepAgent, StepHumanitecApps, StepHumanitecDefinitions)
	// Everything else waits for the state to record the options first,
	// and then for Humanitec to accept org and token: a wrong token must
	// stop the run before anything is created (no cluster, no key).
	roots := []string{StepState}
	if has(StepHumanitecCheck) {
		need(StepHumanitecCheck, StepState)
		roots = append(roots, StepHumanitecCheck)
	}
	for i := range steps {
		if name := steps[i].Action.Name(); name != StepState && name != StepHumanitecCheck && len(steps[i].Needs) == 0 {
			steps[i].Needs = roots
		}
	}
	return NewPlan(steps...)
}

// DownPlan takes the install back: the up plan undone in reverse, except the
// steps whose result the user chose to keep (Install.Keep).
func DownPlan(in *Install) (*Plan, error) {
	up, err := UpPlan(in)
	if err != nil {
		return nil, err
	}
	steps := append(up.Steps(), humanitecForeignStep(in)...)
	for i, s := range steps {
		if in.Keep[s.Action.Name()] {
			steps[i].Action = kept{s.Action.Name()}
		}
	}
	return NewPlan(steps...)
}

// kept stands for a step whose result stays: it has no Undo.
type kept struct{ name string }

func (k kept) Name() string                            { return k.name }
func (k kept) Run(context.Context, *StepContext) error { return nil }

// KeepGroups marks for keeping every step whose name starts with one of the
// prefixes (e.g. "humanitec/"), for a `down` that removes only part.
func (in *Install) KeepGroups(prefixes ...string) error {
	up, err := UpPlan(in)
	if err != nil {
		return err
	}
	if in.Keep == nil {
		in.Keep = map[string]bool{}
	}
	for _, s := range up.Steps() {
		for _, p := range prefixes {
			if strings.HasPrefix(s.Action.Name(), p) {
				in.Keep[s.Action.Name()] = true
			}
		}
	}
	return nil
}

// stateStep records the options first, so that a re-run (or `down`) after a
// failure knows what this install was asked to be. It always runs: options
// may change between runs.
type stateStep struct{ in *Install }

func (stateStep) Name() string { return StepState }

func (s stateStep) Run(_ context.Context, sc *StepContext) error {
	prev := s.in.Store.Snapshot()
	if prev.Steps[StepCluster].Status == state.StepDone {
		if err := recreateNeeded(prev.Options, s.in.Options); err != nil {
			return err
		}
	}
	if err := s.in.Store.Update(func(f *state.File) { f.Options = s.in.Options }); err != nil {
		return err
	}
	sc.Logger().Info("install " + s.in.Store.InstallID() + " recorded in " + s.in.Store.Path())
	return nil
}

// recreateNeeded refuses option changes that only a new cluster can apply
// (kind's port mappings are fixed when the node is created), naming each
// difference. Other changes, such as a new token, are applied by the steps.
func recreateNeeded(prev, next config.Options) error {
	var diffs []string
	diff := func(flag string, a, b any) {
		if a != b {
			diffs = append(diffs, fmt.Sprintf("%s %v → %v", flag, a, b))
		}
	}
	diff("--name", prev.Name, next.Name)
	diff("--kubeconfig", prev.Kubeconfig, next.Kubeconfig)
	diff("--context", prev.Context, next.Context)
	if !next.ExistingCluster() {
		diff("--port", prev.Port, next.Port)
		diff("--listen-address", prev.ListenAddress, next.ListenAddress)
	}
	if len(diffs) == 0 {
		return nil
	}
	return &config.InputError{
		Msg:  "these options changed since the cluster was made and need a new one: " + strings.Join(diffs, ", "),
		Hint: "run `pocketidp down` and then `pocketidp up` with the new options, or run up with the old ones",
	}
}

// clusterData is the cluster as Humanitec's agent reaches it from inside:
// for kind the node's own name (what `kind get kubeconfig --internal` says),
// for an existing cluster its kubeconfig as it is.
func (in *Install) clusterData(ctx context.Context) (humanitec.ClusterData, error) {
	acc, err := in.Kube(ctx)
	if err != nil {
		return humanitec.ClusterData{}, err
	}
	rc := rest.CopyConfig(acc.RESTConfig)
	if err := rest.LoadTLSFiles(rc); err != nil {
		return humanitec.ClusterData{}, fmt.Errorf("read the cluster's certificates: %w", err)
	}
	server := rc.Host
	if acc.Kind {
		server = "https://" + in.Options.NodeName() + ":6443"
	}
	return humanitec.ClusterData{
		Server: server, CAData: rc.CAData, ClientCertData: rc.CertData,
		ClientKey: secret.New(string(rc.KeyData)), Token: secret.New(rc.BearerToken),
	}, nil
}

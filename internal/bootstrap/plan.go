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

// edges is the up plan's picture: every step, top to bottom, and the steps
// it waits for. A need marked opt() is dropped when that step is not in this
// install's plan (Humanitec skipped, no --trust, no --wait); any other need
// must be there, and a step missing from this table is refused, so the
// table stays the one place the graph is written.
//
// On `down` each step's Undo runs after the Undo of every step that needs
// it, and after its undoAfter steps.
var edges = []edge{
	{step: StepState},
	// A wrong token must stop the run before anything is created (no
	// cluster, no key): everything else waits for the check.
	{step: StepHumanitecCheck, needs: req(StepState)},
	{step: StepCluster, needs: req(StepState).opt(StepHumanitecCheck)},
	{step: StepTLS, needs: req(StepCluster)},
	{step: StepCoreDNS, needs: req(StepCluster)},
	{step: StepTrust, needs: req(StepTLS)},
	{step: StepTraefik, needs: req(StepTLS)},
	{step: StepGitea, needs: req(StepCluster, StepCoreDNS)},
	{step: StepRegistry, needs: req(StepCluster)},
	{step: StepGiteaReady, needs: req(StepGitea, StepTraefik)},
	{step: StepGiteaOrg, needs: req(StepGiteaReady)},
	{step: StepGiteaBackstageRepo, needs: req(StepGiteaOrg)},
	// With the local orchestrator, the org and token it sets are made there.
	{step: StepGiteaActions, needs: req(StepGiteaOrg).opt(StepOrchestratorCredentials)},
	{step: StepRunnerToken, needs: req(StepGiteaReady)},
	// The runner's forwarder points at the registry.
	{step: StepRunner, needs: req(StepRunnerToken, StepRegistry)},
	// Making a 4096-bit key takes seconds of CPU: it happens while the
	// cluster comes up.
	{step: StepHumanitecAgentKey, needs: req(StepState).opt(StepHumanitecCheck)},
	// PocketIDP's local orchestrator (no Humanitec credentials): its org
	// and token, its image in the nodes, the install (the certificate must
	// name orchestrator.localhost, and gives the intermediate CA), then its
	// API through the ingress, which the Humanitec steps then use as they
	// use Humanitec's.
	{step: StepOrchestratorCredentials, needs: req(StepState)},
	{step: StepOrchestratorImage, needs: req(StepCluster)},
	{step: StepOrchestrator, needs: req(StepCluster, StepTLS, StepOrchestratorCredentials, StepOrchestratorImage)},
	{step: StepOrchestratorReady, needs: req(StepOrchestrator, StepTraefik)},
	// One of the two checks is in the plan: Humanitec's or the local
	// orchestrator's.
	{step: StepHumanitecEnvType, needs: req().opt(StepHumanitecCheck, StepOrchestratorReady)},
	// The agent waits for the env type only so that `down` removes the
	// env type last; it costs nothing on the way up.
	{step: StepHumanitecAgent, needs: req(StepHumanitecEnvType, StepHumanitecAgentKey)},
	{step: StepHumanitecApps, needs: req(StepHumanitecEnvType)},
	{step: StepHumanitecValues, needs: req(StepHumanitecApps)},
	// The definitions match the env type, name the agent and carry the
	// cluster's address.
	{step: StepHumanitecDefinitions, needs: req(StepHumanitecEnvType, StepHumanitecAgent, StepCluster)},
	// `down` only: what the user picked of what PocketIDP did not create
	// on 5min-local; before the env type, which those apps may hold.
	{step: StepHumanitecForeign, needs: req(StepHumanitecEnvType)},
	// On `down`, Humanitec deletes the apps' resources in the cluster and
	// drops the definitions through the agent: its chart goes after them.
	{step: StepAgent, needs: req(StepCluster, StepHumanitecAgent), undoAfter: []string{StepHumanitecApps, StepHumanitecDefinitions}},
	// Backstage's first build: everything it deploys with must be there.
	{step: StepGiteaTrigger, needs: req(StepGiteaBackstageRepo, StepGiteaActions, StepRunner).
		opt(StepHumanitecValues, StepHumanitecDefinitions, StepAgent)},
	{step: StepBackstageRoute, needs: req(StepGiteaTrigger)},
	{step: StepBackstageBuild, needs: req(StepGiteaTrigger)},
	{step: StepBackstageDeploy, needs: req(StepBackstageBuild)},
	{step: StepBackstageReady, needs: req(StepBackstageDeploy)},
}

// edge is one row of the table.
type edge struct {
	step      string
	needs     needs
	undoAfter []string
}

// needs are a step's needs, each required or optional.
type needs []need

type need struct {
	step     string
	optional bool
}

func req(steps ...string) needs {
	var n needs
	for _, s := range steps {
		n = append(n, need{step: s})
	}
	return n
}

// opt adds needs that apply only when those steps are in the plan.
func (n needs) opt(steps ...string) needs {
	out := slices.Clone(n)
	for _, s := range steps {
		out = append(out, need{step: s, optional: true})
	}
	return out
}

// wire gives each step its needs and undoAfter from edges. It returns new
// Steps; the given ones are not changed.
func wire(steps []Step) ([]Step, error) { return connect(steps, false) }

// connect is wire; with partial (tests that run part of the plan), needs
// of steps outside steps are dropped and steps the table does not know
// keep the needs they were given.
func connect(steps []Step, partial bool) ([]Step, error) {
	has := map[string]bool{}
	for _, s := range steps {
		has[s.Action.Name()] = true
	}
	table := map[string]edge{}
	for _, e := range edges {
		table[e.step] = e
	}
	out := make([]Step, len(steps))
	for i, s := range steps {
		name := s.Action.Name()
		e, ok := table[name]
		switch {
		case !ok && partial:
			out[i] = s
			continue
		case !ok:
			return nil, fmt.Errorf("plan: step %s is not in the table of edges (plan.go)", name)
		}
		s.Needs, s.UndoAfter = nil, nil
		for _, n := range e.needs {
			switch {
			case has[n.step]:
				s.Needs = append(s.Needs, n.step)
			case !n.optional && !partial:
				return nil, fmt.Errorf("plan: step %s needs %s, which is not in the plan", name, n.step)
			}
		}
		for _, a := range e.undoAfter {
			if has[a] {
				s.UndoAfter = append(s.UndoAfter, a)
			}
		}
		out[i] = s
	}
	return out, nil
}

// UpPlan is everything `up` does after the doctor passed, with the state
// open: each concept's steps, tied together by the table of edges.
func UpPlan(in *Install) (*Plan, error) {
	steps := []Step{{Action: stateStep{in}}}
	steps = append(steps, clusterSteps(in)...)
	steps = append(steps, chartsSteps(in)...)
	steps = append(steps, giteaSteps(in)...)
	steps = append(steps, orchestratorSteps(in)...)
	steps = append(steps, humanitecSteps(in)...)
	steps = append(steps, backstageSteps(in)...)
	wired, err := wire(steps)
	if err != nil {
		return nil, err
	}
	return NewPlan(wired...)
}

// DownPlan takes the install back: the up plan undone in reverse, except the
// steps whose result the user chose to keep (Install.Keep).
func DownPlan(in *Install) (*Plan, error) {
	up, err := UpPlan(in)
	if err != nil {
		return nil, err
	}
	steps, err := wire(append(up.Steps(), humanitecForeignStep(in)...))
	if err != nil {
		return nil, err
	}
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
	if err := orchestratorSwitch(prev, s.in.Options); err != nil {
		return err
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

// orchestratorSwitch refuses to move an install's registrations between
// Humanitec and PocketIDP's local orchestrator: the state lists them as
// this install's, and the other orchestrator would be asked to update or
// remove objects it never had. --skip-humanitec (leave them alone) is no
// switch. Which one has them: a Humanitec install saves its org, a local one
// has none (whatever skips came between).
func orchestratorSwitch(prev state.File, next config.Options) error {
	if next.SkipHumanitec {
		return nil
	}
	registered := slices.ContainsFunc(prev.Objects, func(o state.Object) bool {
		return strings.HasPrefix(o.Kind, "humanitec/") || o.Kind == ObjOrchestrator
	})
	wasLocal := prev.Options.HumanitecOrg == ""
	if !registered || wasLocal == next.LocalOrchestrator() {
		return nil
	}
	if wasLocal {
		return &config.InputError{Msg: "this install is registered with PocketIDP's local orchestrator, and HUMANITEC_ORG and HUMANITEC_TOKEN are set now",
			Hint: "unset them to keep the local orchestrator, or run `pocketidp down` first and then `pocketidp up` with them to use Humanitec"}
	}
	return &config.InputError{Msg: "this install is registered with Humanitec org " + prev.Options.HumanitecOrg + ", and no Humanitec credentials are given now",
		Hint: "set HUMANITEC_ORG and HUMANITEC_TOKEN as before, or run `pocketidp down` (with them) first to switch to the local orchestrator"}
}

// clusterData is the cluster as Humanitec's agent reaches it from inside:
// for kind the node's own name (what `kind get kubeconfig --internal` says),
// for an existing cluster its kubeconfig's server, unless that is an address
// only the host reaches (then the kubernetes Service).
func (in *Install) clusterData(ctx context.Context) (humanitec.ClusterData, error) {
	acc, err := in.Kube(ctx)
	if err != nil {
		return humanitec.ClusterData{}, err
	}
	rc := rest.CopyConfig(acc.RESTConfig)
	if err := rest.LoadTLSFiles(rc); err != nil {
		return humanitec.ClusterData{}, fmt.Errorf("read the cluster's certificates: %w", err)
	}
	server := humanitec.InClusterServer(rc.Host)
	if acc.Kind {
		server = "https://" + in.Options.NodeName() + ":6443"
	}
	return humanitec.ClusterData{
		Server: server, CAData: rc.CAData, ClientCertData: rc.CertData,
		ClientKey: secret.New(string(rc.KeyData)), Token: secret.New(rc.BearerToken),
	}, nil
}

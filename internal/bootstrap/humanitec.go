package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pocketidp/pocketidp/internal/cluster"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/report"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/state"
)

// Humanitec step names. The registrations are separate steps so that those
// that do not depend on each other run at the same time: the agent key is
// made beside everything else; after the check the env type, then the apps
// (then Backstage's shared values) beside the agent (then the
// definitions).
const (
	StepHumanitecCheck       = "humanitec/check"
	StepHumanitecAgentKey    = "humanitec/agent-key"
	StepHumanitecEnvType     = "humanitec/env-type"
	StepHumanitecApps        = "humanitec/apps"
	StepHumanitecValues      = "humanitec/values"
	StepHumanitecAgent       = "humanitec/agent"
	StepHumanitecDefinitions = "humanitec/definitions"
)

// HumanitecInput is what the Humanitec steps need beyond the options.
type HumanitecInput struct {
	// Orchestrator, when set, is used as it is; otherwise the classic
	// Humanitec API is reached with the options' org, token and URL.
	Orchestrator humanitec.Orchestrator
	// Cluster, when set, gives the k8s-cluster definition the cluster as
	// the agent inside it reaches it; otherwise that is derived from the
	// install's cluster access (clusterData).
	Cluster func(ctx context.Context) (humanitec.ClusterData, error)
	// Foreign are the objects on 5min-local that PocketIDP did not create
	// that `down` removes, each by its Ref.Key ("app scaffolded"): the ones
	// the user picked, or all listed with --include-tutorial-objects.
	// Nothing else of theirs is touched.
	Foreign []string

	once sync.Once
	mu   sync.Mutex // the local orchestrator's, made once its credentials exist
	orch humanitec.Orchestrator
	err  error
}

// HumanitecAgentKeyPath is where the agent's private key is kept (0600):
// the state dir.
func (in *Install) HumanitecAgentKeyPath() string {
	return filepath.Join(in.Store.Dir(), humanitec.AgentKeyFile)
}

// humanitec returns the orchestrator of this install, made on first use:
// the test's, Humanitec's, or PocketIDP's local one (by URL, org and token,
// which the state holds once orchestrator/credentials ran; until then an
// error, and it is made again on the next call).
func (in *Install) humanitec() (humanitec.Orchestrator, error) {
	h := &in.Humanitec
	if h.Orchestrator == nil && in.Options.LocalOrchestrator() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.orch != nil {
			return h.orch, nil
		}
		o, err := in.localRegistrar()
		if err != nil {
			return nil, err
		}
		h.orch = o
		return o, nil
	}
	h.once.Do(func() {
		if h.Orchestrator != nil {
			h.orch = h.Orchestrator
			return
		}
		if err := in.Options.CheckHumanitecCredentials(); err != nil {
			h.err = err
			return
		}
		c, err := humanitec.New(humanitec.Config{
			BaseURL: in.Options.HumanitecAPIURL, Org: in.Options.HumanitecOrg, Token: in.Options.HumanitecToken,
		})
		if err != nil {
			h.err = &config.InputError{Msg: err.Error(), Hint: "unset HUMANITEC_API_URL to use " + humanitec.DefaultBaseURL}
			return
		}
		h.orch, h.err = in.newRegistrar(c, in.Options.HumanitecToken)
	})
	return h.orch, h.err
}

// newRegistrar registers this install through c; token becomes
// Backstage's HUMANITEC_TOKEN shared value.
func (in *Install) newRegistrar(c *humanitec.Client, token secret.Value) (*humanitec.Registrar, error) {
	h := &in.Humanitec
	return humanitec.NewRegistrar(humanitec.RegistrarConfig{
		Client: c, InstallID: in.Store.InstallID(), Token: token,
		GitOrg: config.DefaultGiteaOrg, Ledger: in.Store, AgentKeyPath: in.HumanitecAgentKeyPath(),
		// Read when the definitions are planned: the cluster step
		// sets it after this is made.
		Cluster: func(ctx context.Context) (humanitec.ClusterData, error) {
			if h.Cluster == nil {
				return in.clusterData(ctx)
			}
			return h.Cluster(ctx)
		},
	})
}

// HasHumanitecObjects reports whether the state lists Humanitec objects
// this install created.
func (in *Install) HasHumanitecObjects() bool {
	return slices.ContainsFunc(in.Store.Snapshot().Objects, func(o state.Object) bool {
		return strings.HasPrefix(o.Kind, "humanitec/")
	})
}

// LeavesHumanitec reports whether this `down` leaves the install's
// Humanitec objects (--skip-humanitec); the state that lists them must then
// stay, for a later `down` to remove them.
func (in *Install) LeavesHumanitec() bool {
	return in.Options.SkipHumanitec && in.HasHumanitecObjects()
}

// DownCheck is the first call of `down`: when it is to remove Humanitec
// objects, org and token must work before anything is removed, or a dead
// token would leave the install half removed.
func DownCheck(ctx context.Context, in *Install) error {
	if in.Options.SkipHumanitec || !in.HasHumanitecObjects() || in.localOrchestratorGone(ctx) {
		return nil
	}
	o, err := in.humanitec()
	if err == nil {
		err = o.Check(report.With(ctx, report.Reporter{Log: in.Log}))
	}
	var ie *config.InputError
	if errors.As(err, &ie) {
		return &config.InputError{Msg: ie.Msg + "; nothing was removed",
			Hint: ie.Hint + "; or pass --skip-humanitec to remove everything else and leave this install's Humanitec objects (the state keeps them for a later down)"}
	}
	return err
}

// HumanitecInventory lists what exists in Humanitec for the teardown
// screen: this install's objects, and apart those PocketIDP did not create.
func HumanitecInventory(ctx context.Context, in *Install) (humanitec.Inventory, error) {
	o, err := in.humanitec()
	if err != nil {
		return humanitec.Inventory{}, err
	}
	return o.Inventory(ctx)
}

// humanitecSteps registers the install with the orchestrator and takes it
// back on `down` (their order: the edges in plan.go). Nothing when
// Humanitec is skipped.
func humanitecSteps(in *Install) []Step {
	if in.Options.SkipHumanitec {
		return nil
	}
	group := func(g humanitec.Group) Step {
		return Step{Action: humanitecGroup{in: in, group: g}, Timeout: 5 * time.Minute}
	}
	var steps []Step
	if !in.Options.LocalOrchestrator() {
		// The local orchestrator is checked by orchestrator/ready, once it
		// runs: the cluster cannot wait for it.
		steps = append(steps, Step{Action: humanitecCheck{in: in}, Timeout: 2 * time.Minute})
	}
	return append(steps,
		// The local orchestrator stores the agent and its key, unused, as
		// the definitions name the agent: the registration is unchanged.
		Step{Action: humanitecAgentKey{in: in}, Timeout: 2 * time.Minute},
		group(humanitec.GroupEnvType),
		group(humanitec.GroupAgent),
		group(humanitec.GroupApps),
		group(humanitec.GroupValues),
		group(humanitec.GroupDefinitions),
	)
}

// StepHumanitecToken checks org and token among the pre-flight checks,
// before anything (the state included) is written.
const StepHumanitecToken = "doctor/humanitec-token"

// humanitecTokenStep is the run's token check (humanitec.CheckAccess) as a
// pre-flight step: only when org and token are there to check, and not
// when a test's orchestrator stands in for Humanitec.
func humanitecTokenStep(in *Install) []Step {
	if in.Options.SkipHumanitec || in.Options.LocalOrchestrator() || in.Options.CheckHumanitec() != nil || in.Humanitec.Orchestrator != nil {
		return nil
	}
	return []Step{{Action: humanitecToken{in}, Timeout: 2 * time.Minute}}
}

// humanitecToken is humanitecTokenStep's action. It has no Done: a check
// runs every time.
type humanitecToken struct{ in *Install }

func (humanitecToken) Name() string { return StepHumanitecToken }

func (s humanitecToken) Run(ctx context.Context, sc *StepContext) error {
	o := s.in.Options
	c, err := humanitec.New(humanitec.Config{BaseURL: o.HumanitecAPIURL, Org: o.HumanitecOrg, Token: o.HumanitecToken})
	if err != nil {
		return &config.InputError{Msg: err.Error(), Hint: "unset HUMANITEC_API_URL to use " + humanitec.DefaultBaseURL}
	}
	return humanitec.CheckAccess(ctx, c)
}

// humanitecCheck is the first call of every run: token and org, with reads.
// It has no Done: credentials can change between runs.
type humanitecCheck struct{ in *Install }

func (humanitecCheck) Name() string { return StepHumanitecCheck }

func (s humanitecCheck) Run(ctx context.Context, sc *StepContext) error {
	o, err := s.in.humanitec()
	if err != nil {
		return err
	}
	return o.Check(ctx)
}

// humanitecAgentKey makes (or finds) the agent's key pair in the state dir,
// where the agent chart step reads it (agentPrivateKey).
type humanitecAgentKey struct{ in *Install }

func (humanitecAgentKey) Name() string { return StepHumanitecAgentKey }

func (s humanitecAgentKey) Done(_ context.Context, _ *StepContext) (bool, error) {
	k, err := humanitec.LoadAgentKey(s.in.HumanitecAgentKeyPath())
	if err != nil {
		// Missing or unusable: Run makes one (or says why it cannot).
		return false, nil
	}
	return !k.PrivatePEM.Empty(), nil
}

func (s humanitecAgentKey) Run(_ context.Context, sc *StepContext) error {
	k, created, err := humanitec.EnsureAgentKey(s.in.HumanitecAgentKeyPath())
	if err != nil {
		return err
	}
	if created {
		sc.Logger().Info("made the agent key pair (RSA 4096)", "path", s.in.HumanitecAgentKeyPath(), "fingerprint", k.Fingerprint)
	}
	return nil
}

// Undo removes the key file; it runs after the agent is deleted.
func (s humanitecAgentKey) Undo(context.Context, *StepContext) error {
	return humanitec.RemoveAgentKey(s.in.HumanitecAgentKeyPath())
}

// humanitecGroup registers one group of objects: Done when a read finds
// them all as wanted (so a converged install makes no write), Run creates
// or updates what differs, Undo removes what this install created.
type humanitecGroup struct {
	in    *Install
	group humanitec.Group
}

func (s humanitecGroup) Name() string { return "humanitec/" + string(s.group) }

// StepHumanitecForeign removes, on `down` only, the objects PocketIDP did
// not create that the user picked (HumanitecInput.Foreign). It is its own
// step so that keeping this install's Humanitec objects does not keep them.
const StepHumanitecForeign = "humanitec/" + string(humanitec.GroupForeign)

// humanitecForeignStep is in the down plan when something was picked: it
// goes before the env type, which the picked apps may hold.
func humanitecForeignStep(in *Install) []Step {
	if in.Options.SkipHumanitec || len(in.Humanitec.Foreign) == 0 {
		return nil
	}
	return []Step{{Action: humanitecUndoOnly{humanitecGroup{in: in, group: humanitec.GroupForeign}}, Timeout: 5 * time.Minute}}
}

// humanitecUndoOnly has nothing to make: only its Undo does something.
type humanitecUndoOnly struct{ humanitecGroup }

func (humanitecUndoOnly) Run(context.Context, *StepContext) error { return nil }

func (s humanitecGroup) Done(ctx context.Context, sc *StepContext) (bool, error) {
	o, err := s.in.humanitec()
	if err != nil {
		return false, err
	}
	pending, err := o.Pending(ctx, s.group)
	if err != nil {
		return false, err
	}
	if len(pending) > 0 {
		sc.Logger().Debug("to do: " + strings.Join(pending, "; "))
	}
	return len(pending) == 0, nil
}

func (s humanitecGroup) Run(ctx context.Context, sc *StepContext) error {
	o, err := s.in.humanitec()
	if err != nil {
		return err
	}
	if err := o.Ensure(ctx, s.group); err != nil {
		return fmt.Errorf("register %s: %w", s.group, err)
	}
	return nil
}

func (s humanitecGroup) Undo(ctx context.Context, sc *StepContext) error {
	if s.in.localOrchestratorGone(ctx) {
		// What the local orchestrator held went with the cluster.
		return s.in.forgetHumanitecObjects()
	}
	o, err := s.in.humanitec()
	if err != nil {
		return err
	}
	opts := humanitec.TeardownOptions{Foreign: s.in.Humanitec.Foreign}
	if err := o.Remove(ctx, s.group, opts); err != nil {
		return fmt.Errorf("remove %s: %w", s.group, err)
	}
	return nil
}

// localOrchestratorGone reports, on `down` of a local-orchestrator install,
// whether the orchestrator (and all it holds) goes, or went, with the kind
// cluster: its registrations need no removal then.
func (in *Install) localOrchestratorGone(ctx context.Context) bool {
	if !in.Options.LocalOrchestrator() || in.Humanitec.Orchestrator != nil {
		return false
	}
	if in.clusterGoes() {
		return true
	}
	_, err := in.Kube(ctx)
	return errors.Is(err, cluster.ErrNotFound)
}

// forgetHumanitecObjects drops this install's orchestrator objects from
// the state.
func (in *Install) forgetHumanitecObjects() error {
	for _, o := range in.Store.Snapshot().Objects {
		if strings.HasPrefix(o.Kind, "humanitec/") {
			if err := in.Store.RemoveObject(o.Kind, o.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// agentPrivateKey is the agent's private key as the agent-key step left it
// in the state dir; empty before that step ran (the dry run).
func (in *Install) agentPrivateKey() (secret.Value, error) {
	if in.Store == nil {
		return secret.Value{}, nil
	}
	k, err := humanitec.LoadAgentKey(in.HumanitecAgentKeyPath())
	if err != nil {
		return secret.Value{}, fmt.Errorf("the agent's key (made by step %s): %w", StepHumanitecAgentKey, err)
	}
	return k.PrivatePEM, nil
}

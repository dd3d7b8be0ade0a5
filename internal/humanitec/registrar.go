package humanitec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pocketidp/pocketidp/internal/secret"
)

// Group is a set of registrations that go together: one engine step each.
type Group string

// The groups, in an order that respects their dependencies: apps need the
// env type, values need the Backstage app, definitions need the env type
// and refer to the agent.
const (
	GroupEnvType     Group = "env-type"
	GroupApps        Group = "apps"
	GroupValues      Group = "values"
	GroupAgent       Group = "agent"
	GroupDefinitions Group = "definitions"
	// GroupForeign is never registered: Remove(GroupForeign) deletes the
	// objects PocketIDP did not create that TeardownOptions.Foreign names.
	GroupForeign Group = "tutorial-objects"
)

// Groups lists every group in registration order.
var Groups = []Group{GroupEnvType, GroupApps, GroupValues, GroupAgent, GroupDefinitions}

// Reporter is where an operation reports: its log and its progress (k of n
// objects). Both may be nil.
type Reporter struct {
	Log      *slog.Logger
	Progress func(current, total int, msg string)
}

func (r Reporter) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

func (r Reporter) progress(cur, total int, msg string) {
	if r.Progress != nil {
		r.Progress(cur, total, msg)
	}
}

// TeardownOptions are the choices of `down`.
type TeardownOptions struct {
	// IncludeTutorialObjects also removes what PocketIDP did not create but
	// the course made on 5min-local: apps scaffolded from Backstage, the
	// tutorial's class "5min" and definitions matched to 5min-local or
	// that class (`down --include-tutorial-objects`).
	IncludeTutorialObjects bool
	// Foreign are the objects PocketIDP did not create that the user
	// picked one by one (by Ref.Key): Remove(GroupForeign) deletes these
	// and nothing else.
	Foreign []string
}

// Orchestrator is what the install needs from a platform orchestrator. The
// engine's humanitec/* steps use only this, so another orchestrator (a newer
// Humanitec API, a local one) can stand in without touching them.
type Orchestrator interface {
	// Check verifies the credentials and the org with reads, before
	// anything is created. Bad input is a *config.InputError naming the fix.
	Check(ctx context.Context, r Reporter) error
	// Pending describes what Ensure(g) would change; empty means the
	// group's objects exist as wanted. It writes nothing.
	Pending(ctx context.Context, g Group) ([]string, error)
	// Ensure creates or updates the group's objects and records each one
	// it creates.
	Ensure(ctx context.Context, g Group, r Reporter) error
	// Remove deletes the group's objects this install created. Gone
	// counts as removed.
	Remove(ctx context.Context, g Group, opts TeardownOptions, r Reporter) error
	// Inventory lists what exists: this install's objects and, apart,
	// those it did not create.
	Inventory(ctx context.Context) (Inventory, error)
	// Deployment reads the newest deployment of app in the install's
	// environment (EnvID) made at or after since; found is false while
	// there is none. It writes nothing, so it can be polled.
	Deployment(ctx context.Context, app string, since time.Time) (d Deployment, found bool, err error)
}

// Ledger is where the install records what it created: the state file
// (*state.Store is one). Object kinds are "humanitec/<kind>".
type Ledger interface {
	HasObject(kind, id string) bool
	AddObject(kind, id string) error
	RemoveObject(kind, id string) error
	Value(key string) string
	SetValue(key, value string) error
}

// Object kinds recorded in the Ledger.
const (
	KindEnvType    = "humanitec/env-type"
	KindApp        = "humanitec/app"
	KindEnv        = "humanitec/env"   // id "<app>/<env>"
	KindValue      = "humanitec/value" // id "<app>/<key>"
	KindDefinition = "humanitec/definition"
	KindAgent      = "humanitec/agent"
)

// fingerprintKey is the Ledger value holding a salted hash of the secrets
// last sent for an object: the API never gives secrets back, so this is how
// a re-run knows whether they changed.
func fingerprintKey(kind, id string) string {
	return "humanitec/fingerprint/" + strings.TrimPrefix(kind, "humanitec/") + "/" + id
}

// RegistrarConfig is what a Registrar needs.
type RegistrarConfig struct {
	Client    *Client
	InstallID string
	// Token becomes Backstage's HUMANITEC_TOKEN shared value.
	Token  secret.Value
	GitOrg string
	Ledger Ledger
	// Cluster gives the cluster data of the k8s-cluster definition; it is
	// called when the definitions are planned, after the cluster exists.
	Cluster func(ctx context.Context) (ClusterData, error)
	// AgentKeyPath is the agent's private key file (made when missing).
	AgentKeyPath string
	// Concurrency bounds the objects worked on at once within a group
	// (default 8). The client's MaxInFlight bounds the calls on the wire.
	Concurrency int
	// Poll is how often a deletion in progress is looked at (default 500ms).
	Poll time.Duration
}

// Registrar registers one install with the classic API. It is the
// Orchestrator of a Humanitec install.
type Registrar struct {
	c       *Client
	id      string
	token   secret.Value
	gitOrg  string
	ledger  Ledger
	cluster func(ctx context.Context) (ClusterData, error)
	keyPath string
	limit   int
	poll    time.Duration
}

var _ Orchestrator = (*Registrar)(nil)

// NewRegistrar checks cfg.
func NewRegistrar(cfg RegistrarConfig) (*Registrar, error) {
	switch {
	case cfg.Client == nil:
		return nil, errors.New("humanitec: no client")
	case cfg.Ledger == nil:
		return nil, errors.New("humanitec: no ledger")
	case len(cfg.InstallID) == 0:
		return nil, errors.New("humanitec: no install id")
	case cfg.AgentKeyPath == "":
		return nil, errors.New("humanitec: no agent key path")
	}
	r := &Registrar{c: cfg.Client, id: cfg.InstallID, token: cfg.Token, gitOrg: cfg.GitOrg, ledger: cfg.Ledger,
		cluster: cfg.Cluster, keyPath: cfg.AgentKeyPath, limit: cfg.Concurrency, poll: cfg.Poll}
	if r.limit <= 0 {
		r.limit = 8
	}
	if r.poll <= 0 {
		r.poll = 500 * time.Millisecond
	}
	return r, nil
}

// Client is the API client the registrar uses.
func (g *Registrar) Client() *Client { return g.c }

// Spec lays out the install's objects. The cluster data and the agent key
// are read only when withCluster / withKey say so, since they exist only
// after the cluster and the key steps.
func (g *Registrar) spec(ctx context.Context, withCluster, withKey bool) (Spec, error) {
	in := SpecInput{InstallID: g.id, Org: g.c.Org(), Token: g.token, GitOrg: g.gitOrg}
	if withCluster {
		if g.cluster == nil {
			return Spec{}, errors.New("no cluster data for the k8s-cluster resource definition (the cluster step provides it)")
		}
		cd, err := g.cluster(ctx)
		if err != nil {
			return Spec{}, fmt.Errorf("cluster data for the k8s-cluster resource definition: %w", err)
		}
		if err := cd.Validate(); err != nil {
			return Spec{}, fmt.Errorf("k8s-cluster resource definition: %w", err)
		}
		in.Cluster = cd
	}
	if withKey {
		k, _, err := EnsureAgentKey(g.keyPath)
		if err != nil {
			return Spec{}, err
		}
		in.AgentPublicKeyPEM = k.PublicPEM
	}
	return NewSpec(in), nil
}

// Check verifies token and org: CheckAccess, with this install's client.
func (g *Registrar) Check(ctx context.Context, r Reporter) error { return CheckAccess(ctx, g.c, r) }

func (u CurrentUser) label() string {
	if u.Name != "" && u.Name != u.ID {
		return fmt.Sprintf("%q (%s)", u.Name, u.ID)
	}
	return u.ID
}

func (u CurrentUser) orgsHint() string {
	var orgs []string
	for k := range u.Roles {
		if o, ok := strings.CutPrefix(k, "/orgs/"); ok && !strings.Contains(o, "/") {
			orgs = append(orgs, o)
		}
	}
	if len(orgs) == 0 {
		return ""
	}
	slices.Sort(orgs)
	return "; the token's user is a member of: " + strings.Join(orgs, ", ")
}

// change is one write Ensure will make.
type change struct {
	desc  string
	apply func(ctx context.Context, log *slog.Logger) error
}

// plan reads the group's objects and returns the changes that would make
// them as wanted. It writes nothing.
func (g *Registrar) plan(ctx context.Context, grp Group) ([]change, error) {
	switch grp {
	case GroupEnvType:
		return g.planEnvType(ctx)
	case GroupApps:
		return g.planApps(ctx)
	case GroupValues:
		return g.planValues(ctx)
	case GroupDefinitions:
		return g.planDefinitions(ctx)
	case GroupAgent:
		return g.planAgent(ctx)
	}
	return nil, fmt.Errorf("humanitec: unknown group %q", grp)
}

// Pending implements Orchestrator.
func (g *Registrar) Pending(ctx context.Context, grp Group) ([]string, error) {
	ch, err := g.plan(ctx, grp)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ch))
	for i, c := range ch {
		out[i] = c.desc
	}
	return out, nil
}

// Ensure implements Orchestrator: plan, then apply the changes at once
// (bounded). Every change that succeeds is recorded even when another
// fails, so a re-run resumes where this one stopped.
func (g *Registrar) Ensure(ctx context.Context, grp Group, r Reporter) error {
	changes, err := g.plan(ctx, grp)
	if err != nil {
		return err
	}
	if len(changes) == 0 {
		r.log().Debug("humanitec: nothing to change", "group", string(grp))
		return nil
	}
	var (
		mu   sync.Mutex
		done int
	)
	r.progress(0, len(changes), changes[0].desc)
	errs := forEach(ctx, g.limit, changes, func(ctx context.Context, c change) error {
		if err := c.apply(ctx, r.log()); err != nil {
			return err
		}
		mu.Lock()
		done++
		r.progress(done, len(changes), c.desc)
		mu.Unlock()
		return nil
	})
	return errs
}

// RegisterAll checks the credentials and registers every group, running
// groups that do not depend on each other at the same time: the env type
// first, then the apps (then their values) beside the agent (then the
// definitions). The engine runs the same groups as steps; this is for the
// package's tests and benchmark.
func (g *Registrar) RegisterAll(ctx context.Context, r Reporter) error {
	if err := g.Check(ctx, r); err != nil {
		return err
	}
	envType, agent := newOutcome(), newOutcome()
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error { return envType.set(g.Ensure(ctx, GroupEnvType, r)) })
	eg.Go(func() error {
		// As in the engine: after the env type, so that teardown (the
		// reverse) removes the env type last.
		if envType.wait() != nil {
			agent.set(errSkipped)
			return nil // the env type's error is the one returned
		}
		return agent.set(g.Ensure(ctx, GroupAgent, r))
	})
	eg.Go(func() error {
		if envType.wait() != nil {
			return nil // returned by its own goroutine
		}
		if err := g.Ensure(ctx, GroupApps, r); err != nil {
			return err
		}
		return g.Ensure(ctx, GroupValues, r)
	})
	eg.Go(func() error {
		// The definitions need the env type (their criteria) and name the
		// agent; waiting for both keeps teardown's order the reverse.
		if envType.wait() != nil || agent.wait() != nil {
			return nil
		}
		return g.Ensure(ctx, GroupDefinitions, r)
	})
	return eg.Wait()
}

// errSkipped stands for a group not run because one it needs failed (that
// one's error is what RegisterAll returns).
var errSkipped = errors.New("skipped")

// outcome is the result of one goroutine that several others wait for.
type outcome struct {
	done chan struct{}
	err  error
}

func newOutcome() *outcome { return &outcome{done: make(chan struct{})} }

func (o *outcome) set(err error) error {
	o.err = err
	close(o.done)
	return err
}

func (o *outcome) wait() error {
	<-o.done
	return o.err
}

// forEach runs fn for every item, at most limit at once, and joins the
// errors. Unlike errgroup it does not cancel the others on the first error:
// every object that can be registered is, and recorded.
func forEach[T any](ctx context.Context, limit int, items []T, fn func(context.Context, T) error) error {
	sem := make(chan struct{}, max(limit, 1))
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return errors.Join(append(errs, ctx.Err())...)
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(ctx, it); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// record notes an object as created (or adopted) by this install.
func (g *Registrar) record(kind, id string) error {
	if err := g.ledger.AddObject(kind, id); err != nil {
		return fmt.Errorf("record %s %s in the state: %w", kind, id, err)
	}
	return nil
}

func (g *Registrar) forget(kind, id string) error {
	if err := g.ledger.RemoveObject(kind, id); err != nil {
		return fmt.Errorf("forget %s %s in the state: %w", kind, id, err)
	}
	return nil
}

// ours applies the ownership rule: an object is this install's when the
// state lists it, or when its id carries the install's names and its
// marker (name, or the agent's description) is the one PocketIDP sets.
func (g *Registrar) ours(kind, id, marker, wantMarker string) bool {
	if g.ledger.HasObject(kind, id) {
		return true
	}
	return g.scoped(id) && marker == wantMarker
}

// scoped reports whether id is one of this install's names.
func (g *Registrar) scoped(id string) bool {
	return id == AppID(g.id) || id == BackstageAppID(g.id) || strings.HasPrefix(id, Prefix(g.id))
}

func jsonEqual(a, b any) bool { return reflect.DeepEqual(normalize(a), normalize(b)) }

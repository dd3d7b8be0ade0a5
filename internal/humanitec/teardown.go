package humanitec

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Teardown takes back, in a safe order, what this install registered:
// first its apps (their environments and values go with them), then its
// resource definitions with their criteria, then the agent the k8s-cluster
// definition reached the cluster through, and last the env type, only if
// this install created it and no environment uses it any more. The engine
// runs the same groups as the Undo of its steps; Remove(GroupDefinitions)
// itself takes the apps first, so the order holds there too although the
// apps step does not wait for the definitions on the way up.
func (g *Registrar) Teardown(ctx context.Context, opts TeardownOptions, r Reporter) error {
	for _, grp := range []Group{GroupValues, GroupApps, GroupDefinitions, GroupAgent, GroupEnvType} {
		if err := g.Remove(ctx, grp, opts, r); err != nil {
			return err
		}
	}
	return nil
}

// Remove implements Orchestrator. Only objects that are this install's
// (listed in the state, or carrying its names and marker) are deleted; a
// 404 counts as gone.
func (g *Registrar) Remove(ctx context.Context, grp Group, opts TeardownOptions, r Reporter) error {
	switch grp {
	case GroupValues:
		return g.removeValues()
	case GroupApps:
		return g.removeApps(ctx, r)
	case GroupDefinitions:
		// Deleting an app tears down its deployments through the
		// definitions (namespace, cluster, agent): they go after the apps.
		if err := g.removeApps(ctx, Reporter{Log: r.Log}); err != nil {
			return err
		}
		return g.removeDefinitions(ctx, r)
	case GroupAgent:
		return g.removeAgent(ctx, r)
	case GroupEnvType:
		return g.removeEnvType(ctx, opts, r)
	case GroupForeign:
		return g.removeForeign(ctx, opts.Foreign, r)
	}
	return fmt.Errorf("humanitec: unknown group %q", grp)
}

// removeValues only forgets: the values live in the Backstage app, which
// the apps group deletes (their secrets with it).
func (g *Registrar) removeValues() error {
	for _, v := range NewSpec(SpecInput{InstallID: g.id}).Values {
		id := v.App + "/" + v.Key
		if err := g.forget(KindValue, id); err != nil {
			return err
		}
		if err := g.ledger.SetValue(fingerprintKey(KindValue, id), ""); err != nil {
			return err
		}
	}
	return nil
}

func (g *Registrar) removeApps(ctx context.Context, r Reporter) error {
	apps := NewSpec(SpecInput{InstallID: g.id}).Apps
	var done int
	var mu sync.Mutex
	return forEach(ctx, g.limit, apps, func(ctx context.Context, want AppCreate) error {
		defer func() {
			mu.Lock()
			done++
			r.progress(done, len(apps), "app "+want.ID)
			mu.Unlock()
		}()
		got, err := g.c.App(ctx, want.ID)
		if IsNotFound(err) {
			return g.forgetApp(want)
		}
		if err != nil {
			return fmt.Errorf("read app %s: %w", want.ID, err)
		}
		if !g.ours(KindApp, got.ID, got.Name, want.Name) {
			r.log().Warn("app not created by this install: kept", "app", got.ID, "name", got.Name)
			return nil
		}
		if err := g.deleteApp(ctx, got); err != nil {
			return err
		}
		r.log().Info("deleted app", "app", want.ID)
		return g.forgetApp(want)
	})
}

// deleteApp deletes an app and waits until the API no longer has it, so
// that its environments no longer hold the env type.
func (g *Registrar) deleteApp(ctx context.Context, a App) error {
	if a.Status != "deleting" {
		if err := g.c.DeleteApp(ctx, a.ID); err != nil && !IsNotFound(err) {
			return fmt.Errorf("delete app %s: %w", a.ID, err)
		}
	}
	return g.waitGone(ctx, "app "+a.ID, func(ctx context.Context) error { _, err := g.c.App(ctx, a.ID); return err })
}

func (g *Registrar) forgetApp(want AppCreate) error {
	if err := g.forget(KindEnv, want.ID+"/"+want.Env.ID); err != nil {
		return err
	}
	return g.forget(KindApp, want.ID)
}

func (g *Registrar) removeDefinitions(ctx context.Context, r Reporter) error {
	ids := DefinitionIDs(g.id)
	var done int
	var mu sync.Mutex
	return forEach(ctx, g.limit, ids, func(ctx context.Context, id string) error {
		defer func() {
			mu.Lock()
			done++
			r.progress(done, len(ids), "resource definition "+id)
			mu.Unlock()
		}()
		got, err := g.c.Definition(ctx, id)
		if IsNotFound(err) {
			return g.forgetDefinition(id)
		}
		if err != nil {
			return fmt.Errorf("read resource definition %s: %w", id, err)
		}
		if !g.ours(KindDefinition, id, got.Name, id) {
			r.log().Warn("resource definition not created by this install: kept", "definition", id, "name", got.Name)
			return nil
		}
		if err := g.deleteDefinition(ctx, got); err != nil {
			return err
		}
		r.log().Info("deleted resource definition", "definition", id)
		return g.forgetDefinition(id)
	})
}

// deleteDefinition removes the matching criteria first, so no deployment
// picks the definition while it goes, then the definition; both with
// force, since the install's own workloads may still use them.
func (g *Registrar) deleteDefinition(ctx context.Context, d Definition) error {
	for _, c := range d.Criteria {
		if c.ID == "" {
			continue
		}
		if err := g.c.DeleteCriterion(ctx, d.ID, c.ID); err != nil && !IsNotFound(err) {
			return fmt.Errorf("delete matching criteria %s of resource definition %s: %w", c.ID, d.ID, err)
		}
	}
	if err := g.c.DeleteDefinition(ctx, d.ID); err != nil && !IsNotFound(err) {
		return fmt.Errorf("delete resource definition %s: %w", d.ID, err)
	}
	return nil
}

func (g *Registrar) forgetDefinition(id string) error {
	if err := g.ledger.SetValue(fingerprintKey(KindDefinition, id), ""); err != nil {
		return err
	}
	return g.forget(KindDefinition, id)
}

func (g *Registrar) removeAgent(ctx context.Context, r Reporter) error {
	id := AgentID(g.id)
	got, err := g.findAgent(ctx, id)
	if err != nil {
		return err
	}
	if got == nil {
		return g.forget(KindAgent, id)
	}
	if !g.ours(KindAgent, id, got.Description, Marker(g.id)) {
		r.log().Warn("agent not created by this install: kept", "agent", id, "description", got.Description)
		return nil
	}
	if err := g.c.DeleteAgent(ctx, id); err != nil && !IsNotFound(err) {
		return fmt.Errorf("delete agent %s: %w", id, err)
	}
	r.log().Info("deleted agent", "agent", id)
	return g.forget(KindAgent, id)
}

func (g *Registrar) removeEnvType(ctx context.Context, opts TeardownOptions, r Reporter) error {
	if opts.IncludeTutorialObjects {
		if err := g.RemoveForeign(ctx, r); err != nil {
			return err
		}
	}
	if !g.ledger.HasObject(KindEnvType, EnvTypeID) {
		r.log().Info("env type was not created by this install: kept (it is shared)", "env_type", EnvTypeID)
		return nil
	}
	apps, err := g.c.Apps(ctx)
	if err != nil {
		return fmt.Errorf("list apps using env type %s: %w", EnvTypeID, err)
	}
	if users := envTypeUsers(apps); len(users) > 0 {
		r.log().Warn("env type kept: still used by apps "+strings.Join(users, ", "), "env_type", EnvTypeID)
		return nil
	}
	err = g.c.DeleteEnvType(ctx, EnvTypeID)
	switch {
	case IsConflict(err):
		// Someone deployed to it between our look and the delete.
		r.log().Warn("env type kept: still used by apps "+strings.Join(usersOf(err), ", "), "env_type", EnvTypeID)
		return nil
	case err != nil && !IsNotFound(err):
		return fmt.Errorf("delete env type %s: %w", EnvTypeID, err)
	}
	r.log().Info("deleted env type", "env_type", EnvTypeID)
	return g.forget(KindEnvType, EnvTypeID)
}

// envTypeUsers names the apps with an environment of the course's type.
func envTypeUsers(apps []App) []string {
	var out []string
	for _, a := range apps {
		if slices.ContainsFunc(a.Envs, func(e EnvBase) bool { return e.Type == EnvTypeID }) {
			out = append(out, a.ID)
		}
	}
	slices.Sort(out)
	return out
}

// Ref names one object in Humanitec.
type Ref struct {
	Kind   string // app, definition, agent, env-type, class
	ID     string // for a class: <resource type>/<class>
	Detail string // why it is listed
}

// Key names the object alone, as the user picks it: "app scaffolded",
// "definition hum-rp-postgres-ex-postgres", "class postgres/5min".
func (r Ref) Key() string { return r.Kind + " " + r.ID }

func (r Ref) String() string {
	s := r.Kind + " " + r.ID
	if r.Detail != "" {
		s += " (" + r.Detail + ")"
	}
	return s
}

// Inventory is what exists in the org that concerns the install.
type Inventory struct {
	// Ours are this install's objects that exist.
	Ours []Ref
	// Foreign are objects PocketIDP did not create but that the course put
	// on 5min-local: apps scaffolded from Backstage, the tutorial's class
	// "5min" and the definitions matched to 5min-local or that class.
	// They are removed only with IncludeTutorialObjects.
	Foreign []Ref
}

// TutorialClass is the resource class the course's tutorial creates.
const TutorialClass = "5min"

// Inventory implements Orchestrator, with reads only.
func (g *Registrar) Inventory(ctx context.Context) (Inventory, error) {
	var (
		apps    []App
		defs    []Definition
		agents  []Agent
		classes []Class
		envErr  error
		errs    = make([]error, 4)
		wg      sync.WaitGroup
	)
	wg.Go(func() { apps, errs[0] = g.c.Apps(ctx) })
	wg.Go(func() { defs, errs[1] = g.c.Definitions(ctx) })
	wg.Go(func() { agents, errs[2] = g.c.Agents(ctx) })
	wg.Go(func() { classes, errs[3] = g.c.Classes(ctx) })
	wg.Go(func() { _, envErr = g.c.EnvType(ctx, EnvTypeID) })
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Inventory{}, fmt.Errorf("list Humanitec objects: %w", err)
	}
	if envErr != nil && !IsNotFound(envErr) {
		return Inventory{}, fmt.Errorf("read env type %s: %w", EnvTypeID, envErr)
	}

	var inv Inventory
	if envErr == nil && g.ledger.HasObject(KindEnvType, EnvTypeID) {
		inv.Ours = append(inv.Ours, Ref{Kind: "env-type", ID: EnvTypeID})
	}
	for _, a := range apps {
		switch {
		case g.scoped(a.ID) && g.ours(KindApp, a.ID, a.Name, a.ID):
			inv.Ours = append(inv.Ours, Ref{Kind: "app", ID: a.ID})
		case slices.ContainsFunc(a.Envs, func(e EnvBase) bool { return e.Type == EnvTypeID }):
			inv.Foreign = append(inv.Foreign, Ref{Kind: "app", ID: a.ID, Detail: "has an environment of type " + EnvTypeID})
		}
	}
	for _, d := range defs {
		switch {
		case d.IsDeleted:
		case g.scoped(d.ID) && g.ours(KindDefinition, d.ID, d.Name, d.ID):
			inv.Ours = append(inv.Ours, Ref{Kind: "definition", ID: d.ID})
		case slices.ContainsFunc(d.Criteria, func(c Criterion) bool { return c.EnvType == EnvTypeID || c.Class == TutorialClass }):
			inv.Foreign = append(inv.Foreign, Ref{Kind: "definition", ID: d.ID, Detail: "matched to env type " + EnvTypeID + " or class " + TutorialClass})
		}
	}
	for _, a := range agents {
		if a.ID == AgentID(g.id) && g.ours(KindAgent, a.ID, a.Description, Marker(g.id)) {
			inv.Ours = append(inv.Ours, Ref{Kind: "agent", ID: a.ID})
		}
	}
	for _, c := range classes {
		if c.ID == TutorialClass {
			inv.Foreign = append(inv.Foreign, Ref{Kind: "class", ID: c.ResourceType + "/" + c.ID, Detail: "the tutorial's resource class"})
		}
	}
	return inv, nil
}

// RemoveForeign deletes everything Inventory lists as foreign. It is only
// ever called on the user's explicit request (--include-tutorial-objects).
func (g *Registrar) RemoveForeign(ctx context.Context, r Reporter) error {
	inv, err := g.Inventory(ctx)
	if err != nil {
		return err
	}
	var keys []string
	for _, f := range inv.Foreign {
		keys = append(keys, f.Key())
	}
	return g.removeForeign(ctx, keys, r)
}

// removeForeign deletes the objects PocketIDP did not create that keys
// name (Ref.Key), each alone: apps first (they hold the env type), then
// definitions, then classes. Gone counts as removed.
func (g *Registrar) removeForeign(ctx context.Context, keys []string, r Reporter) error {
	byKind := map[string][]Ref{}
	for _, k := range keys {
		kind, id, ok := strings.Cut(k, " ")
		if !ok {
			return fmt.Errorf("humanitec: %q names no object (want \"<kind> <id>\")", k)
		}
		byKind[kind] = append(byKind[kind], Ref{Kind: kind, ID: id})
	}
	if err := forEach(ctx, g.limit, byKind["app"], func(ctx context.Context, f Ref) error {
		a, err := g.c.App(ctx, f.ID)
		if IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read app %s: %w", f.ID, err)
		}
		if err := g.deleteApp(ctx, a); err != nil {
			return err
		}
		r.log().Info("deleted app PocketIDP did not create, as asked", "app", f.ID)
		return nil
	}); err != nil {
		return err
	}
	if err := forEach(ctx, g.limit, byKind["definition"], func(ctx context.Context, f Ref) error {
		d, err := g.c.Definition(ctx, f.ID)
		if IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read resource definition %s: %w", f.ID, err)
		}
		if err := g.deleteDefinition(ctx, d); err != nil {
			return err
		}
		r.log().Info("deleted resource definition PocketIDP did not create, as asked", "definition", f.ID)
		return nil
	}); err != nil {
		return err
	}
	return forEach(ctx, g.limit, byKind["class"], func(ctx context.Context, f Ref) error {
		typ, id, _ := strings.Cut(f.ID, "/")
		if err := g.c.DeleteClass(ctx, typ, id); err != nil && !IsNotFound(err) {
			return fmt.Errorf("delete resource class %s: %w", f.ID, err)
		}
		r.log().Info("deleted resource class PocketIDP did not create, as asked", "class", f.ID)
		return nil
	})
}

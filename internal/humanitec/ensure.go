package humanitec

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pocketidp/pocketidp/internal/secret"
)

// Planning: each group reads its objects (get first, so a converged install
// is left alone with reads only) and turns every difference into a change.
// A change records what it creates in the Ledger as soon as the API said
// yes, so a run cut off after k of n objects resumes with the rest.

// planEach plans items at once (bounded) and keeps the changes in the
// items' order.
func planEach[T any](ctx context.Context, limit int, items []T, fn func(context.Context, T) ([]change, error)) ([]change, error) {
	out := make([][]change, len(items))
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	err := forEach(ctx, limit, idx, func(ctx context.Context, i int) error {
		ch, err := fn(ctx, items[i])
		out[i] = ch
		return err
	})
	if err != nil {
		return nil, err
	}
	return slices.Concat(out...), nil
}

// apply runs changes one after the other (the follow-ups of a 409).
func applyAll(ctx context.Context, log *slog.Logger, changes []change) error {
	for _, c := range changes {
		if err := c.apply(ctx, log); err != nil {
			return err
		}
	}
	return nil
}

// --- environment type ---

func (g *Registrar) planEnvType(ctx context.Context) ([]change, error) {
	want := NewSpec(SpecInput{InstallID: g.id}).EnvType
	_, err := g.c.EnvType(ctx, want.ID)
	switch {
	case err == nil:
		// Shared by design: whoever made it, it is used as it is.
		return nil, nil
	case !IsNotFound(err):
		return nil, fmt.Errorf("read env type %s: %w", want.ID, err)
	}
	return []change{{desc: "create env type " + want.ID, apply: func(ctx context.Context, log *slog.Logger) error {
		err := g.c.CreateEnvType(ctx, want)
		if IsConflict(err) {
			// Someone made it meanwhile (or our own create got through
			// before its answer was lost): shared either way, so it is
			// used and never taken back.
			log.Info("env type exists already: shared, used as it is", "env_type", want.ID)
			return nil
		}
		if err != nil {
			return fmt.Errorf("create env type %s: %w", want.ID, err)
		}
		log.Info("created env type", "env_type", want.ID)
		return g.record(KindEnvType, want.ID)
	}}}, nil
}

// --- applications ---

func (g *Registrar) planApps(ctx context.Context) ([]change, error) {
	return planEach(ctx, g.limit, NewSpec(SpecInput{InstallID: g.id}).Apps, g.planApp)
}

func (g *Registrar) planApp(ctx context.Context, want AppCreate) ([]change, error) {
	got, err := g.c.App(ctx, want.ID)
	if IsNotFound(err) {
		return []change{{desc: "create app " + want.ID, apply: func(ctx context.Context, log *slog.Logger) error {
			return g.createApp(ctx, want, log)
		}}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read app %s: %w", want.ID, err)
	}
	return g.appChanges(want, got)
}

func (g *Registrar) createApp(ctx context.Context, want AppCreate, log *slog.Logger) error {
	err := g.c.CreateApp(ctx, want)
	if IsConflict(err) {
		// Made between our read and our create, or by our own create
		// whose answer was lost: adopt it only if it is ours.
		got, gerr := g.c.App(ctx, want.ID)
		if gerr != nil {
			return fmt.Errorf("create app %s: %w (and reading it: %w)", want.ID, err, gerr)
		}
		follow, ferr := g.appChanges(want, got)
		if ferr != nil {
			return ferr
		}
		return applyAll(ctx, log, follow)
	}
	if err != nil {
		return fmt.Errorf("create app %s: %w", want.ID, err)
	}
	log.Info("created app", "app", want.ID, "env", want.Env.ID)
	if err := g.record(KindApp, want.ID); err != nil {
		return err
	}
	return g.record(KindEnv, want.ID+"/"+want.Env.ID)
}

func (g *Registrar) appChanges(want AppCreate, got App) ([]change, error) {
	if !g.ours(KindApp, got.ID, got.Name, want.Name) {
		return nil, &ConflictError{Kind: "app", ID: got.ID, Reason: fmt.Sprintf("it is named %q, not %q, and is not in the state", got.Name, want.Name)}
	}
	if got.Status == "deleting" {
		return []change{{desc: "create app " + want.ID + " once its deletion finished", apply: func(ctx context.Context, log *slog.Logger) error {
			log.Info("app is being deleted; waiting to create it again", "app", want.ID)
			if err := g.waitGone(ctx, "app "+want.ID, func(ctx context.Context) error { _, err := g.c.App(ctx, want.ID); return err }); err != nil {
				return err
			}
			return g.createApp(ctx, want, log)
		}}}, nil
	}
	var out []change
	envKey := want.ID + "/" + want.Env.ID
	i := slices.IndexFunc(got.Envs, func(e EnvBase) bool { return e.ID == want.Env.ID })
	switch {
	case i < 0:
		out = append(out, change{desc: "create env " + want.Env.ID + " in app " + want.ID, apply: func(ctx context.Context, log *slog.Logger) error {
			if err := g.record(KindApp, want.ID); err != nil {
				return err
			}
			err := g.c.CreateEnv(ctx, want.ID, *want.Env)
			if err != nil && !IsConflict(err) {
				return fmt.Errorf("create env %s in app %s: %w", want.Env.ID, want.ID, err)
			}
			log.Info("created env", "app", want.ID, "env", want.Env.ID)
			return g.record(KindEnv, envKey)
		}})
	case got.Envs[i].Type != want.Env.Type:
		return nil, fmt.Errorf("env %s of app %s has type %q, not %q; an env's type cannot change: delete the app in Humanitec and run again",
			want.Env.ID, want.ID, got.Envs[i].Type, want.Env.Type)
	case !g.ledger.HasObject(KindApp, want.ID) || !g.ledger.HasObject(KindEnv, envKey):
		out = append(out, change{desc: "adopt app " + want.ID, apply: func(_ context.Context, log *slog.Logger) error {
			log.Info("adopted app: it carries this install's name", "app", want.ID)
			if err := g.record(KindApp, want.ID); err != nil {
				return err
			}
			return g.record(KindEnv, envKey)
		}})
	}
	return out, nil
}

// --- shared values ---

func (g *Registrar) planValues(ctx context.Context) ([]change, error) {
	wants := NewSpec(SpecInput{InstallID: g.id, Org: g.c.Org(), Token: g.token, GitOrg: g.gitOrg}).Values
	have := map[string]map[string]Value{}
	for _, w := range wants {
		if _, ok := have[w.App]; ok {
			continue
		}
		list, err := g.c.Values(ctx, w.App)
		if err != nil && !IsNotFound(err) {
			return nil, fmt.Errorf("read the shared values of app %s: %w", w.App, err)
		}
		m := map[string]Value{}
		for _, v := range list {
			m[v.Key] = v
		}
		have[w.App] = m
	}
	var out []change
	for _, w := range wants {
		got, ok := have[w.App][w.Key]
		var gp *Value
		if ok {
			gp = &got
		}
		if c := g.valueChange(w, gp); c != nil {
			out = append(out, *c)
		}
	}
	return out, nil
}

func (g *Registrar) valueChange(want SharedValue, got *Value) *change {
	id := want.App + "/" + want.Key
	fpKey := fingerprintKey(KindValue, id)
	fp := ""
	if want.IsSecret() {
		fp = want.Secret.Fingerprint(g.id)
	}
	done := func(log *slog.Logger, verb string) error {
		log.Info(verb+" shared value", "app", want.App, "key", want.Key, "secret", want.IsSecret())
		if err := g.record(KindValue, id); err != nil {
			return err
		}
		return g.ledger.SetValue(fpKey, fp)
	}
	patch := func(ctx context.Context, log *slog.Logger) error {
		v := want.Value
		if want.IsSecret() {
			v = want.Secret.Reveal()
		}
		if err := g.c.PatchValue(ctx, want.App, want.Key, ValuePatch{Description: &want.Description, Value: &v}); err != nil {
			return fmt.Errorf("update shared value %s of app %s: %w", want.Key, want.App, err)
		}
		return done(log, "updated")
	}
	switch {
	case got == nil:
		return &change{desc: "create shared value " + want.Key + " in app " + want.App, apply: func(ctx context.Context, log *slog.Logger) error {
			v := ValueCreate{Key: want.Key, Description: want.Description, Value: want.Value, IsSecret: want.IsSecret()}
			if want.IsSecret() {
				v.Value = want.Secret.Reveal()
			}
			err := g.c.CreateValue(ctx, want.App, v)
			if IsConflict(err) {
				// It is in this install's app, so it is ours: set it.
				return patch(ctx, log)
			}
			if err != nil {
				return fmt.Errorf("create shared value %s in app %s: %w", want.Key, want.App, err)
			}
			return done(log, "created")
		}}
	case got.IsSecret != want.IsSecret():
		return &change{desc: "recreate shared value " + want.Key + " in app " + want.App, apply: func(ctx context.Context, log *slog.Logger) error {
			// Whether a value is secret cannot be changed in place.
			if err := g.c.DeleteValue(ctx, want.App, want.Key); err != nil && !IsNotFound(err) {
				return fmt.Errorf("replace shared value %s in app %s: %w", want.Key, want.App, err)
			}
			v := ValueCreate{Key: want.Key, Description: want.Description, Value: want.Value, IsSecret: want.IsSecret()}
			if want.IsSecret() {
				v.Value = want.Secret.Reveal()
			}
			if err := g.c.CreateValue(ctx, want.App, v); err != nil {
				return fmt.Errorf("replace shared value %s in app %s: %w", want.Key, want.App, err)
			}
			return done(log, "replaced")
		}}
	case got.Description != want.Description ||
		(!want.IsSecret() && got.Value != want.Value) ||
		(want.IsSecret() && g.ledger.Value(fpKey) != fp):
		return &change{desc: "update shared value " + want.Key + " in app " + want.App, apply: patch}
	case !g.ledger.HasObject(KindValue, id):
		return &change{desc: "adopt shared value " + want.Key + " in app " + want.App, apply: func(_ context.Context, log *slog.Logger) error {
			return done(log, "adopted")
		}}
	}
	return nil
}

// --- resource definitions ---

func (g *Registrar) planDefinitions(ctx context.Context) ([]change, error) {
	sp, err := g.spec(ctx, true, false)
	if err != nil {
		return nil, err
	}
	return planEach(ctx, g.limit, sp.Definitions, g.planDefinition)
}

func (g *Registrar) planDefinition(ctx context.Context, want DefinitionCreate) ([]change, error) {
	got, err := g.c.Definition(ctx, want.ID)
	if IsNotFound(err) {
		return []change{{desc: "create resource definition " + want.ID, apply: func(ctx context.Context, log *slog.Logger) error {
			return g.createDefinition(ctx, want, log)
		}}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read resource definition %s: %w", want.ID, err)
	}
	return g.definitionChanges(want, got)
}

// secretsFingerprint is a salted hash of the secrets a definition is sent
// with ("" when it has none).
func (g *Registrar) secretsFingerprint(d DefinitionCreate) string {
	if d.DriverInputs == nil || len(d.DriverInputs.Secrets) == 0 {
		return ""
	}
	b, err := json.Marshal(reveal(d.DriverInputs.Secrets))
	if err != nil {
		panic(err)
	}
	return secret.New(string(b)).Fingerprint(g.id)
}

// revealed is the definition as sent: secrets in clear.
func revealed(d DefinitionCreate) DefinitionCreate {
	if d.DriverInputs != nil {
		in := *d.DriverInputs
		if in.Secrets != nil {
			in.Secrets = reveal(in.Secrets).(map[string]any)
		}
		d.DriverInputs = &in
	}
	return d
}

func (g *Registrar) createDefinition(ctx context.Context, want DefinitionCreate, log *slog.Logger) error {
	err := g.c.CreateDefinition(ctx, revealed(want))
	if IsConflict(err) {
		got, gerr := g.c.Definition(ctx, want.ID)
		if IsNotFound(gerr) {
			// The id is free: the 409 is about the matching criteria,
			// which another definition of the type holds.
			return &ConflictError{Kind: "resource definition", ID: want.ID, Criteria: true, Err: err}
		}
		if gerr != nil {
			return fmt.Errorf("create resource definition %s: %w (and reading it: %w)", want.ID, err, gerr)
		}
		follow, ferr := g.definitionChanges(want, got)
		if ferr != nil {
			return ferr
		}
		return applyAll(ctx, log, follow)
	}
	if err != nil {
		return fmt.Errorf("create resource definition %s: %w", want.ID, err)
	}
	log.Info("created resource definition", "definition", want.ID, "type", want.Type)
	if err := g.record(KindDefinition, want.ID); err != nil {
		return err
	}
	return g.ledger.SetValue(fingerprintKey(KindDefinition, want.ID), g.secretsFingerprint(want))
}

func (g *Registrar) definitionChanges(want DefinitionCreate, got Definition) ([]change, error) {
	id := want.ID
	if !g.ours(KindDefinition, id, got.Name, want.Name) {
		return nil, &ConflictError{Kind: "resource definition", ID: id, Reason: fmt.Sprintf("it is named %q, not %q, and is not in the state", got.Name, want.Name)}
	}
	if got.Type != want.Type {
		return nil, fmt.Errorf("resource definition %s has type %q, not %q; a definition's type cannot change: delete it in Humanitec and run again", id, got.Type, want.Type)
	}
	fpKey := fingerprintKey(KindDefinition, id)
	fp := g.secretsFingerprint(want)
	var out []change
	// Secrets never come back, so whether they changed is told by the
	// fingerprint of what was last sent.
	if got.Name != want.Name || got.DriverType != want.DriverType ||
		!sameMap(got.DriverInputs.Values, want.DriverInputs.Values) ||
		!sameMap(got.Provision, want.Provision) ||
		g.ledger.Value(fpKey) != fp {
		out = append(out, change{desc: "update resource definition " + id, apply: func(ctx context.Context, log *slog.Logger) error {
			w := revealed(want)
			up := DefinitionUpdate{Name: w.Name, DriverType: w.DriverType, DriverInputs: w.DriverInputs, Provision: w.Provision}
			if err := g.c.UpdateDefinition(ctx, id, up); err != nil {
				return fmt.Errorf("update resource definition %s: %w", id, err)
			}
			log.Info("updated resource definition", "definition", id)
			if err := g.record(KindDefinition, id); err != nil {
				return err
			}
			return g.ledger.SetValue(fpKey, fp)
		}})
	}
	if !sameRules(got.Criteria, want.Criteria) {
		out = append(out, change{desc: "set the matching criteria of resource definition " + id, apply: func(ctx context.Context, log *slog.Logger) error {
			rules := make([]Criterion, len(want.Criteria))
			for i, c := range want.Criteria {
				rules[i] = c.rule()
			}
			if err := g.c.SetCriteria(ctx, id, rules); err != nil {
				if IsConflict(err) {
					return &ConflictError{Kind: "resource definition", ID: id, Criteria: true, Err: err}
				}
				return fmt.Errorf("set the matching criteria of resource definition %s: %w", id, err)
			}
			log.Info("set matching criteria", "definition", id)
			return g.record(KindDefinition, id)
		}})
	}
	if len(out) == 0 && !g.ledger.HasObject(KindDefinition, id) {
		out = append(out, change{desc: "adopt resource definition " + id, apply: func(_ context.Context, log *slog.Logger) error {
			log.Info("adopted resource definition: it carries this install's name", "definition", id)
			return g.record(KindDefinition, id)
		}})
	}
	return out, nil
}

// sameMap compares two JSON-able maps as the API would see them; empty and
// absent are the same.
func sameMap[A, B any](a map[string]A, b map[string]B) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return jsonEqual(a, b)
}

func sameRules(got, want []Criterion) bool {
	key := func(cs []Criterion) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			b, _ := json.Marshal(c.rule())
			out[i] = string(b)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(got), key(want))
}

// --- agent ---

func (g *Registrar) planAgent(ctx context.Context) ([]change, error) {
	key, _, err := EnsureAgentKey(g.keyPath)
	if err != nil {
		return nil, err
	}
	want := AgentCreate{ID: AgentID(g.id), PublicKey: key.PublicPEM, Description: Marker(g.id)}
	got, err := g.findAgent(ctx, want.ID)
	if err != nil {
		return nil, err
	}
	if got == nil {
		return []change{{desc: "register agent " + want.ID, apply: func(ctx context.Context, log *slog.Logger) error {
			return g.createAgent(ctx, want, key, log)
		}}}, nil
	}
	return g.agentChanges(ctx, want, key, *got)
}

func (g *Registrar) findAgent(ctx context.Context, id string) (*Agent, error) {
	list, err := g.c.Agents(ctx)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	for _, a := range list {
		if a.ID == id {
			return &a, nil
		}
	}
	return nil, nil
}

func (g *Registrar) createAgent(ctx context.Context, want AgentCreate, key AgentKey, log *slog.Logger) error {
	err := g.c.CreateAgent(ctx, want)
	if IsConflict(err) {
		got, gerr := g.findAgent(ctx, want.ID)
		if gerr != nil || got == nil {
			return fmt.Errorf("register agent %s: %w (and finding it: %v)", want.ID, err, gerr)
		}
		follow, ferr := g.agentChanges(ctx, want, key, *got)
		if ferr != nil {
			return ferr
		}
		return applyAll(ctx, log, follow)
	}
	if err != nil {
		return fmt.Errorf("register agent %s: %w", want.ID, err)
	}
	log.Info("registered agent", "agent", want.ID, "key", key.Fingerprint)
	return g.record(KindAgent, want.ID)
}

func (g *Registrar) agentChanges(ctx context.Context, want AgentCreate, key AgentKey, got Agent) ([]change, error) {
	if !g.ours(KindAgent, got.ID, got.Description, want.Description) {
		return nil, &ConflictError{Kind: "agent", ID: got.ID, Reason: fmt.Sprintf("its description is %q and it is not in the state", got.Description)}
	}
	var out []change
	if got.Description != want.Description {
		out = append(out, change{desc: "update the description of agent " + want.ID, apply: func(ctx context.Context, log *slog.Logger) error {
			if err := g.c.SetAgentDescription(ctx, want.ID, want.Description); err != nil {
				return fmt.Errorf("update agent %s: %w", want.ID, err)
			}
			return g.record(KindAgent, want.ID)
		}})
	}
	keys, err := g.c.AgentKeys(ctx, want.ID)
	if err != nil {
		return nil, fmt.Errorf("list the keys of agent %s: %w", want.ID, err)
	}
	if !slices.ContainsFunc(keys, func(k KeyInfo) bool { return k.Fingerprint == key.Fingerprint }) {
		// The key on disk is not registered (made anew after the state dir
		// was lost): add it. Older keys stay; they are harmless and may be
		// in use by an agent still running.
		out = append(out, change{desc: "add the agent key to agent " + want.ID, apply: func(ctx context.Context, log *slog.Logger) error {
			if err := g.c.AddAgentKey(ctx, want.ID, key.PublicPEM); err != nil && !IsConflict(err) {
				return fmt.Errorf("add key to agent %s: %w", want.ID, err)
			}
			log.Info("added key to agent", "agent", want.ID, "key", key.Fingerprint)
			return g.record(KindAgent, want.ID)
		}})
	}
	if len(out) == 0 && !g.ledger.HasObject(KindAgent, want.ID) {
		out = append(out, change{desc: "adopt agent " + want.ID, apply: func(_ context.Context, log *slog.Logger) error {
			log.Info("adopted agent: it carries this install's marker", "agent", want.ID)
			return g.record(KindAgent, want.ID)
		}})
	}
	return out, nil
}

// waitGone polls get until it answers 404: deletions of apps are
// asynchronous.
func (g *Registrar) waitGone(ctx context.Context, what string, get func(context.Context) error) error {
	err := wait.PollUntilContextCancel(ctx, g.poll, true, func(ctx context.Context) (bool, error) {
		switch err := get(ctx); {
		case IsNotFound(err):
			return true, nil
		case err != nil:
			return false, err
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("wait for %s to be deleted: %w", what, err)
	}
	return nil
}

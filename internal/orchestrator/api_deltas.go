package orchestrator

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
)

type deltaIn struct {
	ID       string `json:"id"`
	Metadata *struct {
		EnvID    string `json:"env_id"`
		Name     string `json:"name"`
		Archived *bool  `json:"archived"`
	} `json:"metadata"`
	Modules *struct {
		Add    map[string]*Module  `json:"add"`
		Remove []string            `json:"remove"`
		Update map[string][]Update `json:"update"`
	} `json:"modules"`
}

func (d *Delta) json() map[string]any {
	add := map[string]any{}
	for k, m := range d.Add {
		add[k] = m.json()
	}
	upd := map[string]any{}
	for k, u := range d.Update {
		upd[k] = u
	}
	meta := map[string]any{"created_at": d.CreatedAt, "created_by": d.CreatedBy, "last_modified_at": d.LastModified,
		"archived": d.Archived, "contributers": []string{d.CreatedBy}, "shared": false}
	if d.EnvID != "" {
		meta["env_id"] = d.EnvID
	}
	if d.Name != "" {
		meta["name"] = d.Name
	}
	return map[string]any{"id": d.ID, "metadata": meta, "shared": []any{},
		"modules": map[string]any{"add": add, "remove": append([]string{}, d.Remove...), "update": upd}}
}

func (m Module) json() map[string]any {
	spec, ext := m.Spec, m.Externals
	if spec == nil {
		spec = map[string]any{}
	}
	if ext == nil {
		ext = map[string]any{}
	}
	return map[string]any{"profile": m.Profile, "spec": spec, "externals": ext}
}

// merge combines in into d: added modules replace, removals add up,
// updates append.
func (d *Delta) merge(in deltaIn) {
	if in.Metadata != nil {
		if in.Metadata.EnvID != "" {
			d.EnvID = in.Metadata.EnvID
		}
		if in.Metadata.Name != "" {
			d.Name = in.Metadata.Name
		}
		if in.Metadata.Archived != nil {
			d.Archived = *in.Metadata.Archived
		}
	}
	if in.Modules == nil {
		return
	}
	for id, m := range in.Modules.Add {
		if m == nil {
			delete(d.Add, id)
			continue
		}
		d.Add[id] = *m
		d.Remove = slices.DeleteFunc(d.Remove, func(r string) bool { return r == id })
	}
	for _, id := range in.Modules.Remove {
		delete(d.Add, id)
		delete(d.Update, id)
		if !slices.Contains(d.Remove, id) {
			d.Remove = append(d.Remove, id)
		}
	}
	for id, ups := range in.Modules.Update {
		d.Update[id] = append(d.Update[id], ups...)
	}
}

func opListDeltas(rq *request) (int, any) {
	a, st, out := rq.app()
	if a == nil {
		return st, out
	}
	env, archived := rq.query("env"), rq.query("archived") == "true"
	list := []map[string]any{}
	for _, id := range slices.Sorted(maps.Keys(rq.st.Deltas)) {
		d := rq.st.Deltas[id]
		if d.AppID != a.ID || d.Archived != archived || env != "" && d.EnvID != env {
			continue
		}
		list = append(list, d.json())
	}
	return http.StatusOK, list
}

func opCreateDelta(rq *request) (int, any) {
	a, st, out := rq.app()
	if a == nil {
		return st, out
	}
	var in deltaIn
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	now := rq.now()
	d := &Delta{ID: newID() + newID(), AppID: a.ID, CreatedAt: now, CreatedBy: UserID, LastModified: now,
		Add: map[string]Module{}, Update: map[string][]Update{}}
	d.merge(in)
	rq.st.Deltas[d.ID] = d
	return http.StatusOK, d.json()
}

func (rq *request) delta() (*Delta, int, any) {
	a, st, out := rq.app()
	if a == nil {
		return nil, st, out
	}
	d := rq.st.Deltas[rq.param("deltaId")]
	if d == nil || d.AppID != a.ID {
		st, out := notFound(fmt.Sprintf("Delta %s of application %s", rq.param("deltaId"), a.ID))
		return nil, st, out
	}
	return d, 0, nil
}

func opGetDelta(rq *request) (int, any) {
	d, st, out := rq.delta()
	if d == nil {
		return st, out
	}
	return http.StatusOK, d.json()
}

func opPatchDelta(rq *request) (int, any) {
	d, st, out := rq.delta()
	if d == nil {
		return st, out
	}
	var in []deltaIn
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	for _, x := range in {
		d.merge(x)
	}
	d.LastModified = rq.now()
	return http.StatusOK, d.json()
}

// apply returns the set that results from applying d to base.
func (d *Delta) apply(base Set) (Set, error) {
	out := Set{}
	for k, m := range base {
		out[k] = m
	}
	for _, id := range d.Remove {
		delete(out, id)
	}
	for id, m := range d.Add {
		out[id] = m
	}
	for _, id := range slices.Sorted(maps.Keys(d.Update)) {
		m, ok := out[id]
		if !ok {
			return nil, fmt.Errorf("delta %s updates module %s, which the environment does not have: add it instead", d.ID, id)
		}
		doc, err := toTree(m)
		if err != nil {
			return nil, err
		}
		for _, u := range d.Update[id] {
			if doc, err = patch(doc, u); err != nil {
				return nil, fmt.Errorf("delta %s, module %s: %w", d.ID, id, err)
			}
		}
		var nm Module
		b, _ := json.Marshal(doc)
		if err := json.Unmarshal(b, &nm); err != nil {
			return nil, fmt.Errorf("delta %s, module %s: the patched module is no longer a module: %v", d.ID, id, err)
		}
		out[id] = nm
	}
	return out, nil
}

// setID is a set's id: the hash of its content, as the API's set ids are.
func (s Set) id() string {
	b, _ := json.Marshal(s) // map keys are sorted: the hash is stable
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:])
}

func toTree(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	return out, json.Unmarshal(b, &out)
}

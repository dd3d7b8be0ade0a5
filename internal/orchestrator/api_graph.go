package orchestrator

import (
	"cmp"
	"maps"
	"net/http"
	"slices"
)

// opResourceGraph answers which definition each requested resource would
// resolve to in the environment, and what it is now, as the dependency
// graph query does.
func opResourceGraph(rq *request) (int, any) {
	a, e, st, out := rq.env()
	if e == nil {
		return st, out
	}
	var in []struct {
		ID       string         `json:"id"`
		Type     string         `json:"type"`
		Class    string         `json:"class"`
		Resource map[string]any `json:"resource"`
	}
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	var defs []*Definition
	for _, id := range slices.Sorted(maps.Keys(rq.st.Defs)) {
		defs = append(defs, rq.st.Defs[id])
	}
	ctx := Context{App: a.ID, Env: e.ID, EnvType: e.Type}
	nodes := []map[string]any{}
	for _, r := range in {
		class := cmp.Or(r.Class, defaultClass)
		m, ok := resolve(defs, ctx, r.Type, r.ID, class)
		if !ok {
			return badRequest("No resource definition matches resource " + r.ID + " of type " + r.Type + " and class " + class + ": add matching criteria to a definition of that type.")
		}
		outputs := map[string]any{}
		if cur := rq.st.Resources[resKey(a.ID, e.ID, r.Type, class, r.ID)]; cur != nil {
			outputs = orEmpty(cur.Outputs)
		}
		nodes = append(nodes, map[string]any{
			"type": r.Type, "class": class, "id": r.ID, "guresid": guresid(ctx, r.Type, class, r.ID),
			"resource": outputs, "driver": map[string]any{"values": orEmpty(m.Def.Values)}, "def_id": m.Def.ID,
			"criteria_id": m.Criterion.ID, "driver_type": m.Def.DriverType,
			"resource_schema": resourceType(r.Type).json()["outputs_schema"], "depends_on": []string{},
			"def_version_id": m.Def.versionID(), "in_place_driver_change": false,
		})
	}
	return http.StatusOK, nodes
}

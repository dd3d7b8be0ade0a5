package orchestrator

import (
	"maps"
	"net/http"
	"slices"
)

// emptySetID is how the API names the set with nothing in it.
const emptySetID = "0"

func (s Set) json(id string) map[string]any {
	mods := map[string]any{}
	for k, m := range s {
		mods[k] = m.json()
	}
	return map[string]any{"id": id, "modules": mods, "shared": map[string]any{}, "version": 0}
}

// set is the request's {setId}; the API answers 404 with a bare string.
func (rq *request) set() (Set, string, int, any) {
	id := rq.param("setId")
	if id == emptySetID {
		return Set{}, id, 0, nil
	}
	s, ok := rq.st.Sets[id]
	if !ok {
		return nil, id, http.StatusNotFound, "Deployment set " + id + " not found."
	}
	return s, id, 0, nil
}

func opListSets(rq *request) (int, any) {
	a, st, out := rq.app()
	if a == nil {
		return st, out
	}
	ids := map[string]bool{}
	for _, e := range a.Envs {
		for _, d := range rq.st.Deploys[envKey(a.ID, e.ID)] {
			ids[d.SetID] = true
		}
	}
	list := []map[string]any{}
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		if s, ok := rq.st.Sets[id]; ok {
			list = append(list, s.json(id))
		}
	}
	return http.StatusOK, list
}

func opGetSet(rq *request) (int, any) {
	if a, st, out := rq.app(); a == nil {
		return st, out
	}
	s, id, st, out := rq.set()
	if s == nil {
		return st, out
	}
	return http.StatusOK, s.json(id)
}

// opUpdateSet applies a delta to a set and answers the new set's id.
func opUpdateSet(rq *request) (int, any) {
	a, st, out := rq.app()
	if a == nil {
		return st, out
	}
	s, _, st, out := rq.set()
	if s == nil {
		return st, out
	}
	var in deltaIn
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	d := &Delta{ID: "request", AppID: a.ID, Add: map[string]Module{}, Update: map[string][]Update{}}
	d.merge(in)
	next, err := d.apply(s)
	if err != nil {
		return badRequest(err.Error())
	}
	id := next.id()
	rq.st.Sets[id] = next
	return http.StatusOK, id
}

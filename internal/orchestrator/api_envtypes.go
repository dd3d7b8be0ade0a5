package orchestrator

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
)

func (e *EnvType) json() map[string]any {
	return map[string]any{"id": e.ID, "description": e.Description}
}

func opListEnvTypes(rq *request) (int, any) {
	out := []map[string]any{}
	for _, id := range slices.Sorted(maps.Keys(rq.st.EnvTypes)) {
		out = append(out, rq.st.EnvTypes[id].json())
	}
	return http.StatusOK, out
}

func opGetEnvType(rq *request) (int, any) {
	e := rq.st.EnvTypes[rq.param("envTypeId")]
	if e == nil {
		return notFound("Environment type " + rq.param("envTypeId"))
	}
	return http.StatusOK, e.json()
}

func opCreateEnvType(rq *request) (int, any) {
	var in EnvType
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	if !validID(in.ID) {
		return badRequest(fmt.Sprintf("Environment type id %q is not valid: use lowercase letters, digits and single dashes.", in.ID))
	}
	if rq.st.EnvTypes[in.ID] != nil {
		return conflict(fmt.Sprintf("Environment type %s already exists.", in.ID))
	}
	e := &EnvType{ID: in.ID, Description: in.Description}
	rq.st.EnvTypes[in.ID] = e
	return http.StatusCreated, e.json()
}

func opDeleteEnvType(rq *request) (int, any) {
	id := rq.param("envTypeId")
	if rq.st.EnvTypes[id] == nil {
		return notFound("Environment type " + id)
	}
	// Refused while an environment has this type; the answer names them.
	var users []map[string]string
	for _, appID := range slices.Sorted(maps.Keys(rq.st.Apps)) {
		for _, e := range rq.st.Apps[appID].Envs {
			if e.Type == id {
				users = append(users, map[string]string{"app_id": appID, "env_id": e.ID})
			}
		}
	}
	if len(users) > 0 {
		return http.StatusConflict, users
	}
	delete(rq.st.EnvTypes, id)
	return http.StatusNoContent, nil
}

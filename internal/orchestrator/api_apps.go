package orchestrator

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// defaultEnv is what the API makes for an app created without an env and
// without skip_environment_creation.
var defaultEnv = EnvType{ID: "development", Description: "Default"}

func (a *App) json(org string) map[string]any {
	envs := []map[string]any{}
	for _, e := range a.Envs {
		envs = append(envs, map[string]any{"id": e.ID, "name": e.Name, "type": e.Type})
	}
	return map[string]any{
		"id": a.ID, "name": a.Name, "org_id": org, "created_at": a.CreatedAt, "created_by": a.CreatedBy,
		"envs": envs, "status": "active", "status_changed_at": a.CreatedAt,
	}
}

func (rq *request) envJSON(a *App, e *Env) map[string]any {
	out := map[string]any{
		"id": e.ID, "name": e.Name, "type": e.Type, "created_at": e.CreatedAt, "created_by": e.CreatedBy,
		"status": "active", "status_changed_at": e.CreatedAt,
	}
	if ds := rq.st.Deploys[envKey(a.ID, e.ID)]; len(ds) > 0 {
		out["last_deploy"] = ds[len(ds)-1].json()
	}
	if d := rq.st.findDeploy(a.ID, e.FromDeployID); d != nil {
		out["from_deploy"] = d.json()
	}
	return out
}

func opListApps(rq *request) (int, any) {
	out := []map[string]any{}
	for _, id := range slices.Sorted(maps.Keys(rq.st.Apps)) {
		out = append(out, rq.st.Apps[id].json(rq.s.cfg.Org))
	}
	return http.StatusOK, out
}

func opGetApp(rq *request) (int, any) {
	a, st, out := rq.app()
	if a == nil {
		return st, out
	}
	return http.StatusOK, a.json(rq.s.cfg.Org)
}

func opCreateApp(rq *request) (int, any) {
	var in struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Env  *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"env"`
		Skip bool `json:"skip_environment_creation"`
	}
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	if !validID(in.ID) {
		return badRequest(fmt.Sprintf("Application id %q is not valid: use up to %d lowercase letters, digits and single dashes.", in.ID, maxIDLen))
	}
	if rq.st.Apps[in.ID] != nil {
		return conflict(fmt.Sprintf("Application %s already exists.", in.ID))
	}
	now := rq.now()
	a := &App{ID: in.ID, Name: in.Name, CreatedAt: now, CreatedBy: UserID, Values: map[string]*Value{}}
	switch {
	case in.Env != nil:
		if rq.st.EnvTypes[in.Env.Type] == nil {
			return badRequest(fmt.Sprintf("Environment type %s does not exist: create it first (POST /orgs/%s/env-types).", in.Env.Type, rq.s.cfg.Org))
		}
		a.Envs = append(a.Envs, &Env{ID: in.Env.ID, Name: in.Env.Name, Type: in.Env.Type, CreatedAt: now, CreatedBy: UserID})
	case !in.Skip:
		if rq.st.EnvTypes[defaultEnv.ID] == nil {
			et := defaultEnv
			rq.st.EnvTypes[et.ID] = &et
		}
		a.Envs = append(a.Envs, &Env{ID: defaultEnv.ID, Name: "Development", Type: defaultEnv.ID, CreatedAt: now, CreatedBy: UserID})
	}
	rq.st.Apps[in.ID] = a
	return http.StatusCreated, a.json(rq.s.cfg.Org)
}

func opDeleteApp(rq *request) (int, any) {
	a, st, out := rq.app()
	if a == nil {
		return st, out
	}
	for _, e := range a.Envs {
		rq.forgetEnv(a, e)
	}
	for k := range rq.st.Secrets {
		if strings.HasPrefix(k, secretValueKey(a.ID, "")) {
			delete(rq.st.Secrets, k)
		}
	}
	for id, d := range rq.st.Deltas {
		if d.AppID == a.ID {
			delete(rq.st.Deltas, id)
		}
	}
	delete(rq.st.Apps, a.ID)
	return http.StatusNoContent, nil
}

// app is the request's {appId}, or the answer to give when there is none.
func (rq *request) app() (*App, int, any) {
	a := rq.st.Apps[rq.param("appId")]
	if a == nil {
		st, out := notFound("Application " + rq.param("appId"))
		return nil, st, out
	}
	return a, 0, nil
}

// env is the request's {envId} of its {appId}.
func (rq *request) env() (*App, *Env, int, any) {
	a, st, out := rq.app()
	if a == nil {
		return nil, nil, st, out
	}
	e := a.env(rq.param("envId"))
	if e == nil {
		st, out := notFound(fmt.Sprintf("Environment %s of application %s", rq.param("envId"), a.ID))
		return nil, nil, st, out
	}
	return a, e, 0, nil
}

func opListEnvs(rq *request) (int, any) {
	a, st, out := rq.app()
	if a == nil {
		return st, out
	}
	list := []map[string]any{}
	for _, e := range a.Envs {
		list = append(list, rq.envJSON(a, e))
	}
	return http.StatusOK, list
}

func opGetEnv(rq *request) (int, any) {
	a, e, st, out := rq.env()
	if e == nil {
		return st, out
	}
	return http.StatusOK, rq.envJSON(a, e)
}

func opCreateEnv(rq *request) (int, any) {
	a, st, out := rq.app()
	if a == nil {
		return st, out
	}
	var in struct {
		ID           string `json:"id"`
		Name         string `json:"name"`
		Type         string `json:"type"`
		FromDeployID string `json:"from_deploy_id"`
	}
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	if !validID(in.ID) {
		return badRequest(fmt.Sprintf("Environment id %q is not valid: use up to %d lowercase letters, digits and single dashes.", in.ID, maxIDLen))
	}
	if in.Type == "" {
		in.Type = defaultEnv.ID
	}
	if rq.st.EnvTypes[in.Type] == nil {
		return badRequest(fmt.Sprintf("Environment type %s does not exist: create it first (POST /orgs/%s/env-types).", in.Type, rq.s.cfg.Org))
	}
	if a.env(in.ID) != nil {
		return conflict(fmt.Sprintf("Environment %s already exists in application %s.", in.ID, a.ID))
	}
	// A pull request's preview environment starts from a deployment of
	// another environment: its next deployment builds on that set.
	if in.FromDeployID != "" && rq.st.findDeploy(a.ID, in.FromDeployID) == nil {
		return badRequest(fmt.Sprintf("Deployment %s (from_deploy_id) does not exist in application %s.", in.FromDeployID, a.ID))
	}
	e := &Env{ID: in.ID, Name: in.Name, Type: in.Type, CreatedAt: rq.now(), CreatedBy: UserID, FromDeployID: in.FromDeployID}
	a.Envs = append(a.Envs, e)
	return http.StatusCreated, rq.envJSON(a, e)
}

func opDeleteEnv(rq *request) (int, any) {
	a, e, st, out := rq.env()
	if e == nil {
		return st, out
	}
	if len(a.Envs) == 1 {
		return badRequest(fmt.Sprintf("Environment %s is the last one of application %s: delete the application instead.", e.ID, a.ID))
	}
	rq.forgetEnv(a, e)
	a.Envs = slices.DeleteFunc(a.Envs, func(x *Env) bool { return x == e })
	return http.StatusNoContent, nil
}

// forgetEnv drops an environment's deployments and resources, and removes
// what they made from the cluster once the answer is sent.
func (rq *request) forgetEnv(a *App, e *Env) {
	key := envKey(a.ID, e.ID)
	delete(rq.st.Deploys, key)
	for k := range rq.st.Resources {
		if strings.HasPrefix(k, key+"/") {
			delete(rq.st.Resources, k)
		}
	}
	rq.s.teardownLater(rq, a.ID, e.ID)
}

func opRebaseEnv(rq *request) (int, any) {
	a, e, st, out := rq.env()
	if e == nil {
		return st, out
	}
	var id string
	if err := rq.decode(&id); err != nil {
		return badRequest(err.Error())
	}
	if rq.st.findDeploy(a.ID, id) == nil {
		return badRequest(fmt.Sprintf("Deployment %s does not exist in application %s.", id, a.ID))
	}
	e.FromDeployID = id
	return http.StatusNoContent, nil
}

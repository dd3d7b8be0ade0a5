package orchestrator

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// The statuses of a deployment.
const (
	DeployInProgress = "in progress"
	DeploySucceeded  = "succeeded"
	DeployFailed     = "failed"
)

func (d *Deploy) json() map[string]any {
	out := map[string]any{
		"id": d.ID, "env_id": d.EnvID, "comment": d.Comment, "created_at": d.CreatedAt, "created_by": d.CreatedBy,
		"status": d.Status, "status_changed_at": d.StatusChanged, "from_id": d.FromID, "set_id": d.SetID,
		"export_status": "", "export_file": "",
	}
	if d.DeltaID != "" {
		out["delta_id"] = d.DeltaID
	}
	return out
}

// findDeploy finds a deployment of any environment of app.
func (s *state) findDeploy(app, id string) *Deploy {
	if id == "" {
		return nil
	}
	for k, ds := range s.Deploys {
		for _, d := range ds {
			if d.ID == id && d.AppID == app && k == envKey(app, d.EnvID) {
				return d
			}
		}
	}
	return nil
}

func opListDeploys(rq *request) (int, any) {
	a, e, st, out := rq.env()
	if e == nil {
		return st, out
	}
	list := []map[string]any{}
	ds := slices.Clone(rq.st.Deploys[envKey(a.ID, e.ID)])
	slices.Reverse(ds) // newest first
	for _, d := range ds {
		list = append(list, d.json())
	}
	return http.StatusOK, list
}

func opCreateDeploy(rq *request) (int, any) {
	a, e, st, out := rq.env()
	if e == nil {
		return st, out
	}
	var in struct {
		Comment string `json:"comment"`
		DeltaID string `json:"delta_id"`
		SetID   string `json:"set_id"`
	}
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	key := envKey(a.ID, e.ID)
	if slices.ContainsFunc(rq.st.Deploys[key], func(d *Deploy) bool { return d.Status == DeployInProgress }) {
		return conflict(fmt.Sprintf("A deployment of %s/%s is still in progress: wait for it to finish, then deploy again.", a.ID, e.ID))
	}
	// The new set is the environment's current one (or the one it was
	// cloned from), changed by the delta, or the set named.
	base := Set{}
	if from := rq.st.findDeploy(a.ID, e.FromDeployID); from != nil {
		base = rq.st.Sets[from.SetID]
	}
	set := base
	switch {
	case in.SetID != "":
		s, ok := rq.st.Sets[in.SetID]
		if !ok {
			return badRequest(fmt.Sprintf("Deployment set %s does not exist.", in.SetID))
		}
		set = s
	case in.DeltaID != "":
		d := rq.st.Deltas[in.DeltaID]
		if d == nil || d.AppID != a.ID {
			return badRequest(fmt.Sprintf("Delta %s does not exist in application %s: create it first (POST /orgs/%s/apps/%s/deltas).", in.DeltaID, a.ID, rq.s.cfg.Org, a.ID))
		}
		var err error
		if set, err = d.apply(base); err != nil {
			return badRequest(err.Error())
		}
	}
	if set == nil {
		set = Set{}
	}
	setID := set.id()
	rq.st.Sets[setID] = set
	now := rq.now()
	d := &Deploy{ID: newID(), AppID: a.ID, EnvID: e.ID, Comment: in.Comment, DeltaID: in.DeltaID, SetID: setID,
		FromID: e.FromDeployID, CreatedBy: UserID, CreatedAt: now, Status: DeployInProgress, StatusChanged: now}
	rq.st.Deploys[key] = append(rq.st.Deploys[key], d)
	rq.st.trim(a.ID, e.ID)
	j := rq.s.job(a, e, d, set)
	rq.s.running.Add(1)
	prev := rq.after
	rq.after = func() {
		if prev != nil {
			prev()
		}
		go rq.s.run(j)
	}
	return http.StatusCreated, d.json()
}

func (rq *request) deploy() (*Deploy, int, any) {
	a, e, st, out := rq.env()
	if e == nil {
		return nil, st, out
	}
	for _, d := range rq.st.Deploys[envKey(a.ID, e.ID)] {
		if d.ID == rq.param("deployId") {
			return d, 0, nil
		}
	}
	st, out = notFound(fmt.Sprintf("Deployment %s of %s/%s", rq.param("deployId"), a.ID, e.ID))
	return nil, st, out
}

func opGetDeploy(rq *request) (int, any) {
	d, st, out := rq.deploy()
	if d == nil {
		return st, out
	}
	return http.StatusOK, d.json()
}

func opListDeployErrors(rq *request) (int, any) {
	d, st, out := rq.deploy()
	if d == nil {
		return st, out
	}
	list := []map[string]any{}
	for _, e := range d.Errors {
		list = append(list, map[string]any{"scope": e.Scope, "object_id": e.ObjectID, "code": e.Code,
			"summary": e.Summary, "message": e.Message, "error_type": "pocketidp", "env_id": d.EnvID, "created_at": d.StatusChanged})
	}
	return http.StatusOK, list
}

func (r *ActiveResource) json(org string) map[string]any {
	out := map[string]any{
		"org_id": org, "app_id": r.AppID, "env_id": r.EnvID, "env_type": r.EnvType, "res_id": r.ResID,
		"def_id": r.DefID, "def_version_id": r.DefVersionID, "type": r.Type, "driver_type": r.DriverType,
		"class": r.Class, "status": "active", "resource": orEmpty(r.Outputs), "secret_refs": map[string]any{},
		"updated_at": r.UpdatedAt, "deploy_id": r.DeployID, "gu_res_id": r.GUResID, "scheduled_deletion": false,
	}
	if r.CriteriaID != "" {
		out["criteria_id"] = r.CriteriaID
	}
	return out
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func opListActiveResources(rq *request) (int, any) {
	a, e, st, out := rq.env()
	if e == nil {
		return st, out
	}
	list := []map[string]any{}
	if rq.query("scheduled_deletion") == "true" {
		return http.StatusOK, list // nothing is ever scheduled for deletion here
	}
	prefix := envKey(a.ID, e.ID) + "/"
	for _, k := range slices.Sorted(maps.Keys(rq.st.Resources)) {
		if strings.HasPrefix(k, prefix) {
			list = append(list, rq.st.Resources[k].json(rq.s.cfg.Org))
		}
	}
	return http.StatusOK, list
}

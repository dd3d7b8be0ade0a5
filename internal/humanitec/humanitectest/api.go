package humanitectest

import (
	"cmp"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The in-memory model of one org. Only the fake's handlers touch it, under
// Server.mu.
type org struct {
	id       string
	created  string
	envTypes map[string]*envType
	apps     map[string]*app
	defs     map[string]*definition
	agents   map[string]*agent
	classes  map[string]*class // by "type/id"
	// scripts say what becomes of deployments, by "app/env" (see
	// Server.ScriptDeploys).
	scripts map[string]*DeployScript
}

func newOrg(id string) *org {
	return &org{id: id, created: stamp(time.Now()),
		envTypes: map[string]*envType{}, apps: map[string]*app{}, defs: map[string]*definition{},
		agents: map[string]*agent{}, classes: map[string]*class{}, scripts: map[string]*DeployScript{}}
}

type envType struct{ ID, Description string }

type app struct {
	ID, Name, CreatedAt, CreatedBy string
	Status, StatusChangedAt        string
	envs                           []*env
	values                         map[string]*value
}

type env struct {
	ID, Name, Type, CreatedAt, CreatedBy string
	deploys                              []*deploy                  // in order of creation
	resources                            map[string]*activeResource // by res_id
}

// deploy is a deployment. Its status moves on as its script says, worked
// out whenever it is looked at (see settle); without a script it stays
// "in progress".
type deploy struct {
	ID, Comment, DeltaID, SetID, FromID, CreatedBy string
	Created, StatusChanged                         time.Time
	Status                                         string
	script                                         *DeployScript
}

// activeResource is a resource a deployment provisioned.
type activeResource struct {
	ResID, Type, Class, DefID, DefVersionID, DriverType, DeployID, UpdatedAt string
	Outputs                                                                  map[string]any
}

type value struct {
	Key, Description, Value string
	Secret                  bool
	Version                 int
	CreatedAt, UpdatedAt    string
}

type definition struct {
	ID, Name, Type, DriverType, DriverAccount string
	Values, Secrets                           map[string]any
	Provision                                 map[string]provision
	Criteria                                  []*criterion
	CreatedAt, CreatedBy, UpdatedAt           string
	Version                                   int
	// ActiveResources stands for resources provisioned from the
	// definition: deleting it without force then answers 409.
	ActiveResources int
}

type provision struct {
	IsDependent     bool           `json:"is_dependent"`
	MatchDependents bool           `json:"match_dependents,omitempty"`
	Params          map[string]any `json:"params,omitempty"`
}

type criterion struct {
	ID      string `json:"id"`
	AppID   string `json:"app_id,omitempty"`
	EnvID   string `json:"env_id,omitempty"`
	EnvType string `json:"env_type,omitempty"`
	ResID   string `json:"res_id,omitempty"`
	Class   string `json:"class"`
}

func (c *criterion) same(o *criterion) bool {
	return c.AppID == o.AppID && c.EnvID == o.EnvID && c.EnvType == o.EnvType && c.ResID == o.ResID && c.Class == o.Class
}

type agent struct {
	ID, Description, CreatedAt, CreatedBy string
	keys                                  []*agentKey
}

type agentKey struct {
	Fingerprint string `json:"fingerprint"`
	PublicKey   string `json:"public_key"`
	CreatedAt   string `json:"created_at"`
	CreatedBy   string `json:"created_by"`
	ExpiredAt   string `json:"expired_at"`
	Authorized  bool   `json:"is_authorized"`
}

type class struct{ ID, Type, Description, CreatedAt, CreatedBy string }

// stamp formats t as the API does ("Simplified extended ISO format").
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// request is one call being handled.
type request struct {
	s      *Server
	r      *http.Request
	user   *User
	params map[string]string
	body   []byte
	org    *org
}

func (rq *request) write() bool { return rq.r.Method != http.MethodGet }

func (rq *request) decode(v any) error { return json.Unmarshal(rq.body, v) }

func (rq *request) now() string { return stamp(time.Now()) }

func (rq *request) nextID() string { return rq.s.nextID() }

func (s *Server) nextID() string {
	s.seq++
	return fmt.Sprintf("%016x", uint64(s.seq)*0x9e3779b97f4a7c15)
}

type operation func(*request) (int, any)

func notFound(what string) (int, any) {
	return http.StatusNotFound, apiError("API-404", what+" not found.", nil)
}

func conflict(msg string) (int, any) {
	return http.StatusConflict, apiError("API-409", msg, nil)
}

func badRequest(msg string) (int, any) {
	return http.StatusBadRequest, apiError("API-400", msg, nil)
}

// operations maps the document's operation keys to the fake's handlers.
func (s *Server) operations() map[string]operation {
	return map[string]operation{
		"getCurrentUser":  opCurrentUser,
		"getOrganization": opGetOrg,

		"listEnvironmentTypes":  opListEnvTypes,
		"getEnvironmentType":    opGetEnvType,
		"createEnvironmentType": opCreateEnvType,
		"deleteEnvironmentType": opDeleteEnvType,

		"listApplications":  opListApps,
		"getApplication":    opGetApp,
		"createApplication": opCreateApp,
		"deleteApplication": opDeleteApp,
		"listEnvironments":  opListEnvs,
		"getEnvironment":    opGetEnv,
		"createEnvironment": opCreateEnv,
		"deleteEnvironment": opDeleteEnv,

		"listDeployments":      opListDeploys,
		"createDeployment":     opCreateDeploy,
		"getDeployment":        opGetDeploy,
		"listDeploymentErrors": opListDeployErrors,
		"listActiveResources":  opListActiveResources,

		"GET /orgs/{orgId}/apps/{appId}/values":          opListValues,
		"POST /orgs/{orgId}/apps/{appId}/values":         opCreateValue,
		"PUT /orgs/{orgId}/apps/{appId}/values/{key}":    opReplaceValue,
		"PATCH /orgs/{orgId}/apps/{appId}/values/{key}":  opPatchValue,
		"DELETE /orgs/{orgId}/apps/{appId}/values/{key}": opDeleteValue,

		"listResourceDefinitions":          opListDefs,
		"getResourceDefinition":            opGetDef,
		"createResourceDefinition":         opCreateDef,
		"updateResourceDefinition":         opUpdateDef,
		"deleteResourceDefinition":         opDeleteDef,
		"updateResourceDefinitionCriteria": opPutCriteria,
		"createResourceDefinitionCriteria": opAddCriteria,
		"deleteResourceDefinitionCriteria": opDeleteCriteria,

		"listAgents":       opListAgents,
		"createAgent":      opCreateAgent,
		"patchAgent":       opPatchAgent,
		"deleteAgent":      opDeleteAgent,
		"listKeysInAgent":  opListKeys,
		"createKey":        opCreateKey,
		"deleteKeyInAgent": opDeleteKey,

		"listResourceClasses": opListClasses,
		"createResourceClass": opCreateClass,
		"getResourceClass":    opGetClass,
		"deleteResourceClass": opDeleteClass,
	}
}

// --- user and org ---

func opCurrentUser(rq *request) (int, any) {
	roles := map[string]string{}
	maps.Copy(roles, rq.user.Roles)
	return http.StatusOK, map[string]any{
		"id": rq.user.ID, "name": rq.user.Name, "type": "service",
		"created_at": "2026-01-02T03:04:05Z", "properties": map[string]any{}, "roles": roles,
	}
}

func opGetOrg(rq *request) (int, any) {
	return http.StatusOK, map[string]any{
		"id": rq.org.id, "name": rq.org.id, "created_at": rq.org.created, "created_by": DefaultUserID,
		"trial_expires_at": nil, "logo": map[string]any{},
	}
}

// --- environment types ---

func (e *envType) json() map[string]any {
	return map[string]any{"id": e.ID, "description": e.Description}
}

func opListEnvTypes(rq *request) (int, any) {
	out := []map[string]any{}
	for _, id := range slices.Sorted(maps.Keys(rq.org.envTypes)) {
		out = append(out, rq.org.envTypes[id].json())
	}
	return http.StatusOK, out
}

func opGetEnvType(rq *request) (int, any) {
	e := rq.org.envTypes[rq.params["envTypeId"]]
	if e == nil {
		return notFound("Environment type " + rq.params["envTypeId"])
	}
	return http.StatusOK, e.json()
}

func opCreateEnvType(rq *request) (int, any) {
	var in struct{ ID, Description string }
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	if rq.org.envTypes[in.ID] != nil {
		return conflict(fmt.Sprintf("Environment type %s already exists.", in.ID))
	}
	e := &envType{ID: in.ID, Description: in.Description}
	rq.org.envTypes[in.ID] = e
	return http.StatusCreated, e.json()
}

func opDeleteEnvType(rq *request) (int, any) {
	id := rq.params["envTypeId"]
	if rq.org.envTypes[id] == nil {
		return notFound("Environment type " + id)
	}
	// The API refuses while any environment has this type, and names them.
	var users []map[string]string
	for _, appID := range slices.Sorted(maps.Keys(rq.org.apps)) {
		for _, e := range rq.org.apps[appID].envs {
			if e.Type == id {
				users = append(users, map[string]string{"app_id": appID, "env_id": e.ID})
			}
		}
	}
	if len(users) > 0 {
		return http.StatusConflict, users
	}
	delete(rq.org.envTypes, id)
	return http.StatusNoContent, nil
}

// --- applications and environments ---

func (a *app) json(orgID string) map[string]any {
	envs := []map[string]any{}
	for _, e := range a.envs {
		envs = append(envs, map[string]any{"id": e.ID, "name": e.Name, "type": e.Type})
	}
	return map[string]any{
		"id": a.ID, "name": a.Name, "org_id": orgID, "created_at": a.CreatedAt, "created_by": a.CreatedBy,
		"envs": envs, "status": a.Status, "status_changed_at": a.StatusChangedAt,
	}
}

func (e *env) json() map[string]any {
	return map[string]any{
		"id": e.ID, "name": e.Name, "type": e.Type, "created_at": e.CreatedAt, "created_by": e.CreatedBy,
		"status": "active", "status_changed_at": e.CreatedAt,
	}
}

func opListApps(rq *request) (int, any) {
	out := []map[string]any{}
	for _, id := range slices.Sorted(maps.Keys(rq.org.apps)) {
		out = append(out, rq.org.apps[id].json(rq.org.id))
	}
	return http.StatusOK, out
}

func opGetApp(rq *request) (int, any) {
	a := rq.org.apps[rq.params["appId"]]
	if a == nil {
		return notFound("Application " + rq.params["appId"])
	}
	return http.StatusOK, a.json(rq.org.id)
}

func opCreateApp(rq *request) (int, any) {
	var in struct {
		ID, Name string
		Env      *struct{ ID, Name, Type string }
		Skip     bool `json:"skip_environment_creation"`
	}
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	if rq.org.apps[in.ID] != nil {
		return conflict(fmt.Sprintf("Application %s already exists.", in.ID))
	}
	now := rq.now()
	a := &app{ID: in.ID, Name: in.Name, CreatedAt: now, CreatedBy: rq.user.ID, Status: "active",
		StatusChangedAt: now, values: map[string]*value{}}
	switch {
	case in.Env != nil:
		if rq.org.envTypes[in.Env.Type] == nil {
			return badRequest(fmt.Sprintf("Environment type %s does not exist.", in.Env.Type))
		}
		a.envs = append(a.envs, &env{ID: in.Env.ID, Name: in.Env.Name, Type: in.Env.Type, CreatedAt: now, CreatedBy: rq.user.ID})
	case !in.Skip:
		// Without env the API makes its default environment, as the real
		// one does; PocketIDP must not end up with it.
		if rq.org.envTypes["development"] == nil {
			rq.org.envTypes["development"] = &envType{ID: "development", Description: "Default"}
		}
		a.envs = append(a.envs, &env{ID: "development", Name: "Development", Type: "development", CreatedAt: now, CreatedBy: rq.user.ID})
	}
	rq.org.apps[in.ID] = a
	return http.StatusCreated, a.json(rq.org.id)
}

func opDeleteApp(rq *request) (int, any) {
	id := rq.params["appId"]
	a := rq.org.apps[id]
	if a == nil {
		return notFound("Application " + id)
	}
	if a.Status != "deleting" {
		a.Status, a.StatusChangedAt = "deleting", rq.now()
		o, s := rq.org, rq.s
		// Deletion is asynchronous: the app (its envs and values with it)
		// stays visible as "deleting" for a while.
		tm := time.AfterFunc(s.deleteDelay, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if o.apps[id] == a {
				delete(o.apps, id)
			}
		})
		s.timers = append(s.timers, tm)
	}
	return http.StatusAccepted, nil
}

func (rq *request) liveApp() (*app, int, any) {
	a := rq.org.apps[rq.params["appId"]]
	if a == nil {
		st, out := notFound("Application " + rq.params["appId"])
		return nil, st, out
	}
	return a, 0, nil
}

func opListEnvs(rq *request) (int, any) {
	a, st, out := rq.liveApp()
	if a == nil {
		return st, out
	}
	list := []map[string]any{}
	for _, e := range a.envs {
		list = append(list, e.json())
	}
	return http.StatusOK, list
}

func (rq *request) liveEnv() (*app, *env, int, any) {
	a, st, out := rq.liveApp()
	if a == nil {
		return nil, nil, st, out
	}
	for _, e := range a.envs {
		if e.ID == rq.params["envId"] {
			return a, e, 0, nil
		}
	}
	st, out = notFound("Environment " + rq.params["envId"])
	return nil, nil, st, out
}

func opGetEnv(rq *request) (int, any) {
	_, e, st, out := rq.liveEnv()
	if e == nil {
		return st, out
	}
	return http.StatusOK, e.json()
}

func opCreateEnv(rq *request) (int, any) {
	a, st, out := rq.liveApp()
	if a == nil {
		return st, out
	}
	var in struct{ ID, Name, Type string }
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	if in.Type == "" {
		in.Type = "development"
	}
	if rq.org.envTypes[in.Type] == nil {
		return badRequest(fmt.Sprintf("Environment type %s does not exist.", in.Type))
	}
	for _, e := range a.envs {
		if e.ID == in.ID {
			return conflict(fmt.Sprintf("Environment %s already exists in application %s.", in.ID, a.ID))
		}
	}
	e := &env{ID: in.ID, Name: in.Name, Type: in.Type, CreatedAt: rq.now(), CreatedBy: rq.user.ID}
	a.envs = append(a.envs, e)
	return http.StatusCreated, e.json()
}

func opDeleteEnv(rq *request) (int, any) {
	a, st, out := rq.liveApp()
	if a == nil {
		return st, out
	}
	for i, e := range a.envs {
		if e.ID == rq.params["envId"] {
			a.envs = slices.Delete(a.envs, i, i+1)
			return http.StatusNoContent, nil
		}
	}
	return notFound("Environment " + rq.params["envId"])
}

// --- deployments and active resources ---

const (
	deployInProgress = "in progress"
	deploySucceeded  = "succeeded"
	deployFailed     = "failed"
)

func (d *deploy) json(envID string) map[string]any {
	out := map[string]any{
		"id": d.ID, "env_id": envID, "comment": d.Comment, "created_at": stamp(d.Created), "created_by": d.CreatedBy,
		"status": d.Status, "status_changed_at": stamp(d.StatusChanged), "from_id": d.FromID, "set_id": d.SetID,
		"export_status": "", "export_file": "",
	}
	if d.DeltaID != "" {
		out["delta_id"] = d.DeltaID
	}
	return out
}

// newDeploy starts a deployment in e, "in progress", on the environment's
// script.
func (s *Server) newDeploy(o *org, a *app, e *env, comment, by string, created time.Time) *deploy {
	d := &deploy{ID: s.nextID(), SetID: s.nextID(), Comment: comment, CreatedBy: by, Created: created,
		StatusChanged: created, Status: deployInProgress, script: o.scripts[a.ID+"/"+e.ID]}
	if n := len(e.deploys); n > 0 {
		d.FromID = e.deploys[n-1].ID
	}
	e.deploys = append(e.deploys, d)
	return d
}

// settle moves e's deployments on as their scripts say, up to now: one
// InProgressFor after it was made, a deployment fails or succeeds, and a
// success with a host provisions the dns resource. They finish in the
// order of their ends, so the last to end leaves its resource.
func (o *org) settle(a *app, e *env, now time.Time) {
	var due []*deploy
	for _, d := range e.deploys {
		if d.Status == deployInProgress && d.script != nil && !now.Before(d.end()) {
			due = append(due, d)
		}
	}
	slices.SortStableFunc(due, func(x, y *deploy) int { return x.end().Compare(y.end()) })
	for _, d := range due {
		d.StatusChanged = d.end()
		if d.script.Fail {
			d.Status = deployFailed
			continue
		}
		d.Status = deploySucceeded
		if d.script.Host != "" {
			o.provision(a, e, d, "dns", cmp.Or(d.script.DNSResID, DefaultDNSResID), map[string]any{"host": d.script.Host})
		}
	}
}

// end is when a scripted deployment finishes.
func (d *deploy) end() time.Time { return d.Created.Add(d.script.InProgressFor) }

// provision makes (or updates) an active resource from the definition its
// matching criteria pick, as a deployment would.
func (o *org) provision(a *app, e *env, d *deploy, typ, resID string, outputs map[string]any) {
	r := &activeResource{ResID: resID, Type: typ, Class: "default", DeployID: d.ID, UpdatedAt: stamp(d.StatusChanged),
		Outputs: outputs, DefID: "default-" + typ, DefVersionID: "default-" + typ + "-v1", DriverType: "humanitec/" + typ}
	if def := o.matchDefinition(typ, a.ID, e, resID, r.Class); def != nil {
		r.DefID, r.DefVersionID, r.DriverType = def.ID, fmt.Sprintf("%s-v%d", def.ID, def.Version), def.DriverType
	}
	if e.resources == nil {
		e.resources = map[string]*activeResource{}
	}
	e.resources[resID] = r
}

// matchDefinition is the first definition (by id) of type typ with a
// matching criterion whose every field agrees. (Humanitec picks the most
// specific match; the fake's tests never need more than one.)
func (o *org) matchDefinition(typ, appID string, e *env, resID, class string) *definition {
	ok := func(want, got string) bool { return want == "" || want == got }
	for _, id := range slices.Sorted(maps.Keys(o.defs)) {
		d := o.defs[id]
		if d.Type != typ {
			continue
		}
		for _, c := range d.Criteria {
			if ok(c.AppID, appID) && ok(c.EnvID, e.ID) && ok(c.EnvType, e.Type) && ok(c.ResID, resID) && c.Class == class {
				return d
			}
		}
	}
	return nil
}

func (r *activeResource) json(orgID, appID string, e *env) map[string]any {
	gu := sha256.Sum256([]byte(strings.Join([]string{orgID, appID, e.ID, r.Type, r.Class, r.ResID}, "/")))
	return map[string]any{
		"org_id": orgID, "app_id": appID, "env_id": e.ID, "env_type": e.Type, "res_id": r.ResID,
		"def_id": r.DefID, "def_version_id": r.DefVersionID, "type": r.Type, "driver_type": r.DriverType,
		"class": r.Class, "status": "active", "resource": r.Outputs, "secret_refs": map[string]any{},
		"updated_at": r.UpdatedAt, "deploy_id": r.DeployID, "gu_res_id": hex.EncodeToString(gu[:20]),
		"scheduled_deletion": false,
	}
}

func opListDeploys(rq *request) (int, any) {
	a, e, st, out := rq.liveEnv()
	if e == nil {
		return st, out
	}
	rq.org.settle(a, e, time.Now())
	list := []map[string]any{}
	if rq.r.URL.Query().Get("pipelineRunId") != "" {
		// No deployment of the fake comes from a pipeline.
		return http.StatusOK, list
	}
	// Newest first; of two made in the same instant, the later one.
	ds := slices.Clone(e.deploys)
	slices.Reverse(ds)
	slices.SortStableFunc(ds, func(x, y *deploy) int { return y.Created.Compare(x.Created) })
	for _, d := range ds {
		list = append(list, d.json(e.ID))
	}
	return http.StatusOK, list
}

func opCreateDeploy(rq *request) (int, any) {
	a, e, st, out := rq.liveEnv()
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
	now := time.Now()
	rq.org.settle(a, e, now)
	if slices.ContainsFunc(e.deploys, func(d *deploy) bool { return d.Status == deployInProgress }) {
		return conflict("There is already an active deployment in the Environment.")
	}
	d := rq.s.newDeploy(rq.org, a, e, in.Comment, rq.user.ID, now)
	d.DeltaID = in.DeltaID
	if in.SetID != "" {
		d.SetID = in.SetID
	}
	return http.StatusCreated, d.json(e.ID)
}

func (rq *request) liveDeploy() (*env, *deploy, int, any) {
	a, e, st, out := rq.liveEnv()
	if e == nil {
		return nil, nil, st, out
	}
	rq.org.settle(a, e, time.Now())
	for _, d := range e.deploys {
		if d.ID == rq.params["deployId"] {
			return e, d, 0, nil
		}
	}
	st, out = notFound("Deployment " + rq.params["deployId"])
	return nil, nil, st, out
}

func opGetDeploy(rq *request) (int, any) {
	e, d, st, out := rq.liveDeploy()
	if d == nil {
		return st, out
	}
	return http.StatusOK, d.json(e.ID)
}

func opListDeployErrors(rq *request) (int, any) {
	_, d, st, out := rq.liveDeploy()
	if d == nil {
		return st, out
	}
	list := []DeployError{}
	if d.Status != deployFailed {
		return http.StatusOK, list
	}
	if len(d.script.Errors) == 0 {
		return http.StatusOK, append(list, DeployError{Scope: "deployment", ObjectID: d.ID, Code: "DEP-001",
			Summary: "Deployment failed", Message: "The deployment failed (scripted by the fake)."})
	}
	return http.StatusOK, append(list, d.script.Errors...)
}

func opListActiveResources(rq *request) (int, any) {
	a, e, st, out := rq.liveEnv()
	if e == nil {
		return st, out
	}
	rq.org.settle(a, e, time.Now())
	list := []map[string]any{}
	if rq.r.URL.Query().Get("scheduled_deletion") == "true" {
		// The fake never schedules a deletion.
		return http.StatusOK, list
	}
	for _, id := range slices.Sorted(maps.Keys(e.resources)) {
		list = append(list, e.resources[id].json(rq.org.id, a.ID, e))
	}
	return http.StatusOK, list
}

// --- shared values ---

func (v *value) json(orgID, appID string) map[string]any {
	out := map[string]any{
		"key": v.Key, "value": v.Value, "is_secret": v.Secret, "description": v.Description,
		"created_at": v.CreatedAt, "updated_at": v.UpdatedAt, "source": "app",
		"secret_key": nil, "secret_version": nil, "secret_store_id": nil,
	}
	if v.Secret {
		// Secrets are never given back, only where they are kept.
		out["value"] = ""
		out["secret_key"] = fmt.Sprintf("orgs/%s/apps/%s/secret_values/%s", orgID, appID, v.Key)
		out["secret_version"] = fmt.Sprint(v.Version)
		out["secret_store_id"] = "humanitec"
	}
	return out
}

func opListValues(rq *request) (int, any) {
	a, st, out := rq.liveApp()
	if a == nil {
		return st, out
	}
	list := []map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(a.values)) {
		list = append(list, a.values[k].json(rq.org.id, a.ID))
	}
	return http.StatusOK, list
}

type valueIn struct {
	Key         string  `json:"key"`
	Description *string `json:"description"`
	Value       *string `json:"value"`
	IsSecret    bool    `json:"is_secret"`
}

func opCreateValue(rq *request) (int, any) {
	a, st, out := rq.liveApp()
	if a == nil {
		return st, out
	}
	var in valueIn
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	if a.values[in.Key] != nil {
		return conflict(fmt.Sprintf("Shared value %s already exists.", in.Key))
	}
	now := rq.now()
	v := &value{Key: in.Key, Secret: in.IsSecret, Version: 1, CreatedAt: now, UpdatedAt: now}
	if in.Description != nil {
		v.Description = *in.Description
	}
	if in.Value != nil {
		v.Value = *in.Value
	}
	a.values[in.Key] = v
	return http.StatusCreated, v.json(rq.org.id, a.ID)
}

func opReplaceValue(rq *request) (int, any) { return updateValue(rq, true) }
func opPatchValue(rq *request) (int, any)   { return updateValue(rq, false) }

func updateValue(rq *request, replace bool) (int, any) {
	a, st, out := rq.liveApp()
	if a == nil {
		return st, out
	}
	v := a.values[rq.params["key"]]
	if v == nil {
		return notFound("Shared value " + rq.params["key"])
	}
	var in valueIn
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	if replace && (in.Value == nil || in.Description == nil) {
		return badRequest("Both value and description must be supplied.")
	}
	if !replace && in.Value == nil && in.Description == nil {
		return badRequest("At least value or description must be supplied.")
	}
	if in.Description != nil {
		v.Description = *in.Description
	}
	if in.Value != nil {
		v.Value = *in.Value
		v.Version++
	}
	v.UpdatedAt = rq.now()
	return http.StatusOK, v.json(rq.org.id, a.ID)
}

func opDeleteValue(rq *request) (int, any) {
	a, st, out := rq.liveApp()
	if a == nil {
		return st, out
	}
	if a.values[rq.params["key"]] == nil {
		return notFound("Shared value " + rq.params["key"])
	}
	delete(a.values, rq.params["key"])
	return http.StatusNoContent, nil
}

// --- resource definitions and matching criteria ---

type defIn struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Type         string `json:"type"`
	DriverType   string `json:"driver_type"`
	DriverAcct   string `json:"driver_account"`
	DriverInputs *struct {
		Values  map[string]any `json:"values"`
		Secrets map[string]any `json:"secrets"`
	} `json:"driver_inputs"`
	Provision map[string]provision `json:"provision"`
	Criteria  []criterion          `json:"criteria"`
}

func (d *definition) json(orgID string) map[string]any {
	crit := []*criterion{}
	crit = append(crit, d.Criteria...)
	inputs := map[string]any{}
	if d.Values != nil {
		inputs["values"] = d.Values
	}
	if d.Secrets != nil {
		// Secrets are stored away and only their references come back.
		inputs["secret_refs"] = secretRefs(d.Secrets, fmt.Sprintf("orgs/%s/resources/defs/%s/driver_secrets", orgID, d.ID))
	}
	out := map[string]any{
		"org_id": orgID, "id": d.ID, "name": d.Name, "type": d.Type, "driver_type": d.DriverType,
		"created_at": d.CreatedAt, "created_by": d.CreatedBy, "updated_at": d.UpdatedAt, "updated_by": d.CreatedBy,
		"is_default": false, "is_deleted": false, "active_version_id": fmt.Sprintf("%s-v%d", d.ID, d.Version),
		"in_place_driver_change": false, "criteria": crit, "driver_inputs": inputs,
	}
	if d.DriverAccount != "" {
		out["driver_account"] = d.DriverAccount
	}
	if d.Provision != nil {
		out["provision"] = d.Provision
	}
	return out
}

func secretRefs(v map[string]any, path string) map[string]any {
	out := map[string]any{}
	for k, x := range v {
		if m, ok := x.(map[string]any); ok {
			out[k] = secretRefs(m, path+"/"+k)
			continue
		}
		out[k] = map[string]any{"store": "humanitec", "ref": path + "/" + k, "version": "1"}
	}
	return out
}

// criteriaClash reports the definition of the same type that already holds
// one of crit: Humanitec rejects duplicate matching criteria per type.
func (o *org) criteriaClash(typ, self string, crit []*criterion) string {
	for _, id := range slices.Sorted(maps.Keys(o.defs)) {
		d := o.defs[id]
		if d.ID == self || d.Type != typ {
			continue
		}
		for _, c := range d.Criteria {
			for _, n := range crit {
				if c.same(n) {
					return fmt.Sprintf("Matching criteria %s for resource type %s are already used by resource definition %s.", describe(n), typ, d.ID)
				}
			}
		}
	}
	return ""
}

func describe(c *criterion) string {
	var parts []string
	for _, kv := range [][2]string{{"app_id", c.AppID}, {"env_id", c.EnvID}, {"env_type", c.EnvType}, {"res_id", c.ResID}, {"class", c.Class}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func (rq *request) newCriteria(in []criterion) []*criterion {
	out := make([]*criterion, 0, len(in))
	for _, c := range in {
		c := c
		if c.Class == "" {
			c.Class = "default"
		}
		c.ID = rq.nextID()
		out = append(out, &c)
	}
	return out
}

func opListDefs(rq *request) (int, any) {
	out := []map[string]any{}
	for _, id := range slices.Sorted(maps.Keys(rq.org.defs)) {
		out = append(out, rq.org.defs[id].json(rq.org.id))
	}
	return http.StatusOK, out
}

func opGetDef(rq *request) (int, any) {
	d := rq.org.defs[rq.params["defId"]]
	if d == nil {
		return notFound("Resource definition " + rq.params["defId"])
	}
	return http.StatusOK, d.json(rq.org.id)
}

func opCreateDef(rq *request) (int, any) {
	var in defIn
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	if rq.org.defs[in.ID] != nil {
		return conflict(fmt.Sprintf("Resource definition %s already exists.", in.ID))
	}
	crit := rq.newCriteria(in.Criteria)
	if msg := rq.org.criteriaClash(in.Type, in.ID, crit); msg != "" {
		return conflict(msg)
	}
	now := rq.now()
	d := &definition{ID: in.ID, Name: in.Name, Type: in.Type, DriverType: in.DriverType, DriverAccount: in.DriverAcct,
		Provision: in.Provision, Criteria: crit, CreatedAt: now, CreatedBy: rq.user.ID, UpdatedAt: now, Version: 1}
	if in.DriverInputs != nil {
		d.Values, d.Secrets = in.DriverInputs.Values, in.DriverInputs.Secrets
	}
	rq.org.defs[in.ID] = d
	return http.StatusOK, d.json(rq.org.id)
}

func opUpdateDef(rq *request) (int, any) {
	d := rq.org.defs[rq.params["defId"]]
	if d == nil {
		return notFound("Resource definition " + rq.params["defId"])
	}
	var in defIn
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	// PUT replaces: an empty driver_inputs or provision unsets them, an
	// empty driver_type keeps the old one.
	d.Name, d.DriverAccount, d.Provision = in.Name, in.DriverAcct, in.Provision
	if in.DriverType != "" {
		d.DriverType = in.DriverType
	}
	d.Values, d.Secrets = nil, nil
	if in.DriverInputs != nil {
		d.Values, d.Secrets = in.DriverInputs.Values, in.DriverInputs.Secrets
	}
	d.UpdatedAt = rq.now()
	d.Version++
	return http.StatusOK, d.json(rq.org.id)
}

func opDeleteDef(rq *request) (int, any) {
	d := rq.org.defs[rq.params["defId"]]
	if d == nil {
		return notFound("Resource definition " + rq.params["defId"])
	}
	if d.ActiveResources > 0 && rq.r.URL.Query().Get("force") != "true" {
		return http.StatusConflict, changes(d)
	}
	delete(rq.org.defs, d.ID)
	return http.StatusNoContent, nil
}

func changes(d *definition) []map[string]string {
	var out []map[string]string
	for i := range d.ActiveResources {
		out = append(out, map[string]string{"app_id": "some-app", "env_id": "some-env",
			"res_id": fmt.Sprintf("modules.w%d.externals.r", i), "from_def": d.ID, "to_def": ""})
	}
	return out
}

func opPutCriteria(rq *request) (int, any) {
	d := rq.org.defs[rq.params["defId"]]
	if d == nil {
		return notFound("Resource definition " + rq.params["defId"])
	}
	var in []criterion
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	crit := rq.newCriteria(in)
	if msg := rq.org.criteriaClash(d.Type, d.ID, crit); msg != "" {
		return conflict(msg)
	}
	d.Criteria = crit
	return http.StatusOK, crit
}

func opAddCriteria(rq *request) (int, any) {
	d := rq.org.defs[rq.params["defId"]]
	if d == nil {
		return notFound("Resource definition " + rq.params["defId"])
	}
	var in criterion
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	crit := rq.newCriteria([]criterion{in})
	for _, c := range d.Criteria {
		if c.same(crit[0]) {
			return conflict("Matching criteria " + describe(c) + " already exist.")
		}
	}
	if msg := rq.org.criteriaClash(d.Type, d.ID, crit); msg != "" {
		return conflict(msg)
	}
	d.Criteria = append(d.Criteria, crit[0])
	return http.StatusOK, crit[0]
}

func opDeleteCriteria(rq *request) (int, any) {
	d := rq.org.defs[rq.params["defId"]]
	if d == nil {
		return notFound("Resource definition " + rq.params["defId"])
	}
	for i, c := range d.Criteria {
		if c.ID == rq.params["criteriaId"] {
			if d.ActiveResources > 0 && rq.r.URL.Query().Get("force") != "true" {
				return http.StatusConflict, changes(d)
			}
			d.Criteria = slices.Delete(d.Criteria, i, i+1)
			return http.StatusNoContent, nil
		}
	}
	return notFound("Matching criteria " + rq.params["criteriaId"])
}

// --- agents ---

func (a *agent) json() map[string]any {
	return map[string]any{"id": a.ID, "description": a.Description, "created_at": a.CreatedAt, "created_by": a.CreatedBy}
}

// fingerprint checks a public key as the API does (PKIX PEM, RSA, at least
// 4096 bits) and returns its fingerprint: hex SHA-256 of the DER.
func fingerprint(pemText string) (string, error) {
	b, _ := pem.Decode([]byte(pemText))
	if b == nil || b.Type != "PUBLIC KEY" {
		return "", fmt.Errorf("public_key is not a PEM encoded PUBLIC KEY")
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return "", fmt.Errorf("public_key: %v", err)
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return "", fmt.Errorf("public_key is not an RSA key")
	}
	if rk.N.BitLen() < 4096 {
		return "", fmt.Errorf("public_key modulus has %d bits, at least 4096 are required", rk.N.BitLen())
	}
	sum := sha256.Sum256(b.Bytes)
	return hex.EncodeToString(sum[:]), nil
}

func (rq *request) newKey(pub string) (*agentKey, string) {
	fp, err := fingerprint(pub)
	if err != nil {
		return nil, err.Error()
	}
	now := time.Now()
	return &agentKey{Fingerprint: fp, PublicKey: pub, CreatedAt: stamp(now), CreatedBy: rq.user.ID,
		ExpiredAt: stamp(now.AddDate(2, 0, 0)), Authorized: true}, ""
}

func opListAgents(rq *request) (int, any) {
	fp := rq.r.URL.Query().Get("fingerprint")
	out := []map[string]any{}
	for _, id := range slices.Sorted(maps.Keys(rq.org.agents)) {
		a := rq.org.agents[id]
		if fp != "" && !slices.ContainsFunc(a.keys, func(k *agentKey) bool { return k.Fingerprint == fp }) {
			continue
		}
		out = append(out, a.json())
	}
	return http.StatusOK, out
}

func opCreateAgent(rq *request) (int, any) {
	var in struct {
		ID          string `json:"id"`
		PublicKey   string `json:"public_key"`
		Description string `json:"description"`
	}
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	if rq.org.agents[in.ID] != nil {
		return conflict(fmt.Sprintf("Agent %s already exists.", in.ID))
	}
	k, msg := rq.newKey(in.PublicKey)
	if k == nil {
		return badRequest(msg)
	}
	a := &agent{ID: in.ID, Description: in.Description, CreatedAt: rq.now(), CreatedBy: rq.user.ID, keys: []*agentKey{k}}
	rq.org.agents[in.ID] = a
	return http.StatusOK, a.json()
}

func opPatchAgent(rq *request) (int, any) {
	a := rq.org.agents[rq.params["agentId"]]
	if a == nil {
		return notFound("Agent " + rq.params["agentId"])
	}
	var in struct {
		Description string `json:"description"`
	}
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	a.Description = in.Description
	return http.StatusOK, a.json()
}

func opDeleteAgent(rq *request) (int, any) {
	if rq.org.agents[rq.params["agentId"]] == nil {
		return notFound("Agent " + rq.params["agentId"])
	}
	delete(rq.org.agents, rq.params["agentId"])
	return http.StatusNoContent, nil
}

func opListKeys(rq *request) (int, any) {
	a := rq.org.agents[rq.params["agentId"]]
	if a == nil {
		return notFound("Agent " + rq.params["agentId"])
	}
	out := []*agentKey{}
	return http.StatusOK, append(out, a.keys...)
}

func opCreateKey(rq *request) (int, any) {
	a := rq.org.agents[rq.params["agentId"]]
	if a == nil {
		return notFound("Agent " + rq.params["agentId"])
	}
	var in struct {
		PublicKey string `json:"public_key"`
	}
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	k, msg := rq.newKey(in.PublicKey)
	if k == nil {
		return badRequest(msg)
	}
	if slices.ContainsFunc(a.keys, func(o *agentKey) bool { return o.Fingerprint == k.Fingerprint }) {
		return conflict("Key " + k.Fingerprint + " is already registered.")
	}
	a.keys = append(a.keys, k)
	return http.StatusOK, k
}

func opDeleteKey(rq *request) (int, any) {
	a := rq.org.agents[rq.params["agentId"]]
	if a == nil {
		return notFound("Agent " + rq.params["agentId"])
	}
	for i, k := range a.keys {
		if k.Fingerprint == rq.params["fingerprint"] {
			a.keys = slices.Delete(a.keys, i, i+1)
			return http.StatusNoContent, nil
		}
	}
	return notFound("Key " + rq.params["fingerprint"])
}

// --- resource classes ---

func (c *class) json() map[string]any {
	return map[string]any{"id": c.ID, "resource_type": c.Type, "description": c.Description,
		"created_by": c.CreatedBy, "created_at": c.CreatedAt}
}

func opListClasses(rq *request) (int, any) {
	out := []map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(rq.org.classes)) {
		out = append(out, rq.org.classes[k].json())
	}
	return http.StatusOK, out
}

func opCreateClass(rq *request) (int, any) {
	var in struct{ ID, Description string }
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	k := rq.params["typeId"] + "/" + in.ID
	if rq.org.classes[k] != nil {
		return conflict(fmt.Sprintf("Resource class %s already exists for type %s.", in.ID, rq.params["typeId"]))
	}
	c := &class{ID: in.ID, Type: rq.params["typeId"], Description: in.Description, CreatedAt: rq.now(), CreatedBy: rq.user.ID}
	rq.org.classes[k] = c
	return http.StatusOK, c.json()
}

func opGetClass(rq *request) (int, any) {
	c := rq.org.classes[rq.params["typeId"]+"/"+rq.params["classId"]]
	if c == nil {
		return notFound("Resource class " + rq.params["classId"])
	}
	return http.StatusOK, c.json()
}

func opDeleteClass(rq *request) (int, any) {
	k := rq.params["typeId"] + "/" + rq.params["classId"]
	if rq.org.classes[k] == nil {
		return notFound("Resource class " + rq.params["classId"])
	}
	delete(rq.org.classes, k)
	return http.StatusNoContent, nil
}

package orchestrator

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Names of the collections a Store holds.
const (
	collEnvTypes  = "envtypes"
	collApps      = "apps"
	collSecrets   = "secrets"
	collDefs      = "definitions"
	collClasses   = "classes"
	collDeltas    = "deltas"
	collDeploys   = "deployments"
	collSets      = "sets"
	collResources = "resources"
	collArtefacts = "artefacts"
	collMeta      = "meta"
	collAgents    = "agents"
)

// state is everything the orchestrator knows, one field per collection.
// Only the server's handlers touch it, under Server.mu.
type state struct {
	EnvTypes map[string]*EnvType
	Apps     map[string]*App
	// Secrets holds secret shared values by "app/key" and definitions'
	// driver secrets by "def/<id>" (as JSON): never given back by the API.
	Secrets   map[string]string
	Defs      map[string]*Definition
	Classes   map[string]*Class // by "type/id"
	Deltas    map[string]*Delta // by id
	Deploys   map[string][]*Deploy
	Sets      map[string]Set
	Resources map[string]*ActiveResource // by envKey + "/" + type + "/" + class + "/" + res id
	Artefacts []*ArtefactVersion
	Agents    map[string]*Agent
	Meta      *Meta
}

// Meta is what the org itself is.
type Meta struct {
	Org       string `json:"org"`
	CreatedAt string `json:"created_at"`
}

// collection is one field of state, named for the store.
type collection struct {
	name string
	ptr  any
}

func (s *state) collections() []collection {
	return []collection{
		{collEnvTypes, &s.EnvTypes}, {collApps, &s.Apps}, {collSecrets, &s.Secrets}, {collDefs, &s.Defs},
		{collClasses, &s.Classes}, {collDeltas, &s.Deltas}, {collDeploys, &s.Deploys}, {collSets, &s.Sets},
		{collResources, &s.Resources}, {collArtefacts, &s.Artefacts}, {collAgents, &s.Agents}, {collMeta, &s.Meta},
	}
}

func newState() *state {
	return &state{EnvTypes: map[string]*EnvType{}, Apps: map[string]*App{}, Secrets: map[string]string{},
		Defs: map[string]*Definition{}, Classes: map[string]*Class{}, Deltas: map[string]*Delta{},
		Deploys: map[string][]*Deploy{}, Sets: map[string]Set{}, Resources: map[string]*ActiveResource{}, Agents: map[string]*Agent{}}
}

// load reads every collection from st into s (from newState); a
// collection never saved, or saved as null, stays empty.
func (s *state) load(ctx context.Context, st Store) (map[string][]byte, error) {
	saved := map[string][]byte{}
	for _, c := range s.collections() {
		b, err := st.Load(ctx, c.name)
		if err != nil {
			return nil, fmt.Errorf("load the orchestrator's %s: %w", c.name, err)
		}
		if len(b) == 0 {
			continue
		}
		saved[c.name] = b
		if string(bytes.TrimSpace(b)) == "null" {
			continue // a collection saved as null keeps the empty one s starts with
		}
		if err := json.Unmarshal(b, c.ptr); err != nil {
			return nil, fmt.Errorf("the orchestrator's stored %s are not valid JSON (%v); delete that collection to start it afresh", c.name, err)
		}
	}
	return saved, nil
}

// dirty returns the collections whose JSON differs from what was saved.
func (s *state) dirty(saved map[string][]byte) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, c := range s.collections() {
		b, err := json.Marshal(c.ptr)
		if err != nil {
			return nil, fmt.Errorf("encode the orchestrator's %s: %w", c.name, err)
		}
		if string(b) != string(saved[c.name]) {
			out[c.name] = b
		}
	}
	return out, nil
}

// EnvType is an environment type.
type EnvType struct {
	ID          string `json:"id"`
	Description string `json:"description"`
}

// App is an application with its environments and shared values.
type App struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	CreatedAt string            `json:"created_at"`
	CreatedBy string            `json:"created_by"`
	Envs      []*Env            `json:"envs"`
	Values    map[string]*Value `json:"values"`
}

// env returns the app's environment id, or nil.
func (a *App) env(id string) *Env {
	for _, e := range a.Envs {
		if e.ID == id {
			return e
		}
	}
	return nil
}

// Env is an environment of an app.
type Env struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	CreatedAt string `json:"created_at"`
	CreatedBy string `json:"created_by"`
	// FromDeployID is the deployment the environment's next deployment
	// builds on: the environment's last one, or the one it was cloned from
	// (from_deploy_id) or rebased onto.
	FromDeployID string `json:"from_deploy_id,omitempty"`
}

// Value is a shared value; a secret one's value is in state.Secrets.
type Value struct {
	Key         string `json:"key"`
	Description string `json:"description"`
	Value       string `json:"value,omitempty"`
	IsSecret    bool   `json:"is_secret"`
	Version     int    `json:"version"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
}

// Definition is a resource definition; its driver secrets are in
// state.Secrets.
type Definition struct {
	ID            string               `json:"id"`
	Name          string               `json:"name"`
	Type          string               `json:"type"`
	DriverType    string               `json:"driver_type"`
	DriverAccount string               `json:"driver_account,omitempty"`
	Values        map[string]any       `json:"values,omitempty"`
	SecretKeys    []string             `json:"secret_keys,omitempty"`
	Provision     map[string]Provision `json:"provision,omitempty"`
	Criteria      []*Criterion         `json:"criteria"`
	CreatedAt     string               `json:"created_at"`
	CreatedBy     string               `json:"created_by"`
	UpdatedAt     string               `json:"updated_at"`
	Version       int                  `json:"version"`
	Deleted       bool                 `json:"deleted,omitempty"`
}

// versionID names the definition's current version.
func (d *Definition) versionID() string { return fmt.Sprintf("%s-v%d", d.ID, d.Version) }

// Provision is a resource a definition brings along.
type Provision struct {
	IsDependent     bool           `json:"is_dependent"`
	MatchDependents bool           `json:"match_dependents,omitempty"`
	Params          map[string]any `json:"params,omitempty"`
}

// Criterion is a matching criterion. An empty field matches anything; Class
// is "default" unless given.
type Criterion struct {
	ID      string `json:"id"`
	AppID   string `json:"app_id,omitempty"`
	EnvID   string `json:"env_id,omitempty"`
	EnvType string `json:"env_type,omitempty"`
	ResID   string `json:"res_id,omitempty"`
	Class   string `json:"class"`
}

func (c *Criterion) same(o *Criterion) bool {
	return c.AppID == o.AppID && c.EnvID == o.EnvID && c.EnvType == o.EnvType && c.ResID == o.ResID && c.Class == o.Class
}

// Class is a resource class of a resource type.
type Class struct {
	ID          string `json:"id"`
	Type        string `json:"resource_type"`
	Description string `json:"description"`
	CreatedAt   string `json:"created_at"`
	CreatedBy   string `json:"created_by"`
}

// Module is one workload of a deployment set, as deltas carry it.
type Module struct {
	Profile   string         `json:"profile"`
	Spec      map[string]any `json:"spec"`
	Externals map[string]any `json:"externals"`
}

// Set is a deployment set: the modules an environment runs.
type Set map[string]Module

// Delta is a deployment delta.
type Delta struct {
	ID           string              `json:"id"`
	AppID        string              `json:"app_id"`
	EnvID        string              `json:"env_id,omitempty"`
	Name         string              `json:"name,omitempty"`
	Archived     bool                `json:"archived"`
	CreatedAt    string              `json:"created_at"`
	CreatedBy    string              `json:"created_by"`
	LastModified string              `json:"last_modified_at"`
	Add          map[string]Module   `json:"add"`
	Remove       []string            `json:"remove"`
	Update       map[string][]Update `json:"update"`
}

// Update is one JSON-patch-like change to a module in a delta.
type Update struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	From  string `json:"from,omitempty"`
	Value any    `json:"value,omitempty"`
}

// Deploy is a deployment.
type Deploy struct {
	ID            string        `json:"id"`
	AppID         string        `json:"app_id"`
	EnvID         string        `json:"env_id"`
	Comment       string        `json:"comment"`
	DeltaID       string        `json:"delta_id,omitempty"`
	SetID         string        `json:"set_id"`
	FromID        string        `json:"from_id"`
	CreatedBy     string        `json:"created_by"`
	CreatedAt     string        `json:"created_at"`
	Status        string        `json:"status"`
	StatusChanged string        `json:"status_changed_at"`
	Errors        []DeployError `json:"errors,omitempty"`
}

// DeployError is one thing that went wrong in a deployment, worded for the
// learner: the object, the reason and what to do.
type DeployError struct {
	Scope    string `json:"scope"`
	ObjectID string `json:"object_id"`
	Code     string `json:"code"`
	Summary  string `json:"summary"`
	Message  string `json:"message"`
}

// ActiveResource is a resource a deployment provisioned in an environment.
type ActiveResource struct {
	AppID        string         `json:"app_id"`
	EnvID        string         `json:"env_id"`
	EnvType      string         `json:"env_type"`
	ResID        string         `json:"res_id"`
	Type         string         `json:"type"`
	Class        string         `json:"class"`
	DefID        string         `json:"def_id"`
	DefVersionID string         `json:"def_version_id"`
	CriteriaID   string         `json:"criteria_id,omitempty"`
	DriverType   string         `json:"driver_type"`
	DeployID     string         `json:"deploy_id"`
	GUResID      string         `json:"gu_res_id"`
	UpdatedAt    string         `json:"updated_at"`
	Outputs      map[string]any `json:"outputs"`
	// Secrets are the resource's secret outputs; Cookie is what its
	// driver keeps between deployments. Both stay in the secret store.
	Secrets   map[string]any `json:"secrets,omitempty"`
	Cookie    map[string]any `json:"cookie,omitempty"`
	DependsOn []string       `json:"depends_on,omitempty"`
}

// ArtefactVersion is a registered artefact version (a container image).
type ArtefactVersion struct {
	ID         string `json:"id"`
	ArtefactID string `json:"artefact_id"`
	Type       string `json:"type"`
	Name       string `json:"name"`
	Version    string `json:"version,omitempty"`
	Ref        string `json:"ref,omitempty"`
	Commit     string `json:"commit,omitempty"`
	Digest     string `json:"digest,omitempty"`
	CreatedAt  string `json:"created_at"`
	CreatedBy  string `json:"created_by"`
}

// stamp formats t as the API does ("Simplified extended ISO format").
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// newID returns a random 16-hex-digit id, as the API's ids look. Random,
// not counted, so ids stay unique across restarts.
func newID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("orchestrator: no randomness: %v", err))
	}
	return hex.EncodeToString(b[:])
}

// envKey names an app's environment in the deployments and resources
// collections.
func envKey(app, env string) string { return app + "/" + env }

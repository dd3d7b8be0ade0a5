package humanitec

import "time"

// Wire types of the classic API, named after the schemas of Humanitec's
// OpenAPI document (humanitectest validates both directions against it).
// Only the fields PocketIDP reads or writes are here.

// Organization is OrganizationResponse.
type Organization struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// CurrentUser is UserProfileExtendedResponse.
type CurrentUser struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	// Roles maps "/orgs/<org>" to the user's role there.
	Roles map[string]string `json:"roles"`
}

// EnvType is EnvironmentTypeRequest and EnvironmentTypeResponse.
type EnvType struct {
	ID          string `json:"id"`
	Description string `json:"description,omitempty"`
}

// EnvBase is EnvironmentBaseRequest and EnvironmentBaseResponse.
type EnvBase struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// AppCreate is ApplicationCreationRequest. Env is always set: without it
// the API makes a default environment PocketIDP does not want.
type AppCreate struct {
	ID   string   `json:"id"`
	Name string   `json:"name"`
	Env  *EnvBase `json:"env,omitempty"`
}

// App is ApplicationResponse.
type App struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedBy string    `json:"created_by"`
	Envs      []EnvBase `json:"envs"`
	// Status is "active" or "deleting".
	Status string `json:"status"`
}

// Env is EnvironmentResponse.
type Env struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// ValueCreate is ValueCreatePayloadRequest.
type ValueCreate struct {
	Key         string `json:"key"`
	Description string `json:"description"`
	Value       string `json:"value"`
	IsSecret    bool   `json:"is_secret"`
}

// ValuePatch is ValuePatchPayloadRequest.
type ValuePatch struct {
	Description *string `json:"description,omitempty"`
	Value       *string `json:"value,omitempty"`
}

// Value is ValueResponse. Value is always empty for a secret.
type Value struct {
	Key           string  `json:"key"`
	Description   string  `json:"description"`
	Value         string  `json:"value"`
	IsSecret      bool    `json:"is_secret"`
	SecretVersion *string `json:"secret_version"`
}

// DriverInputs is ValuesSecretsRefsRequest. Secrets are stored by Humanitec
// and never given back; a read shows SecretRefs in their place.
type DriverInputs struct {
	Values     map[string]any `json:"values,omitempty"`
	Secrets    map[string]any `json:"secrets,omitempty"`
	SecretRefs map[string]any `json:"secret_refs,omitempty"`
}

// Provision is ProvisionDependenciesRequest.
type Provision struct {
	IsDependent     bool `json:"is_dependent"`
	MatchDependents bool `json:"match_dependents"`
}

// Criterion is MatchingCriteriaRuleRequest and MatchingCriteriaResponse.
type Criterion struct {
	ID      string `json:"id,omitempty"`
	AppID   string `json:"app_id,omitempty"`
	EnvID   string `json:"env_id,omitempty"`
	EnvType string `json:"env_type,omitempty"`
	ResID   string `json:"res_id,omitempty"`
	Class   string `json:"class,omitempty"`
}

// rule is the criterion without its id and with the API's default class,
// for comparing a desired rule with one read back.
func (c Criterion) rule() Criterion {
	c.ID = ""
	if c.Class == "" {
		c.Class = "default"
	}
	return c
}

// DefinitionCreate is CreateResourceDefinitionRequestRequest.
type DefinitionCreate struct {
	ID           string               `json:"id"`
	Name         string               `json:"name"`
	Type         string               `json:"type"`
	DriverType   string               `json:"driver_type"`
	DriverInputs *DriverInputs        `json:"driver_inputs,omitempty"`
	Provision    map[string]Provision `json:"provision,omitempty"`
	Criteria     []Criterion          `json:"criteria,omitempty"`
}

// DefinitionUpdate is UpdateResourceDefinitionRequestRequest (PUT: what is
// left out is unset).
type DefinitionUpdate struct {
	Name         string               `json:"name"`
	DriverType   string               `json:"driver_type,omitempty"`
	DriverInputs *DriverInputs        `json:"driver_inputs,omitempty"`
	Provision    map[string]Provision `json:"provision,omitempty"`
}

// Definition is ResourceDefinitionResponse.
type Definition struct {
	ID           string               `json:"id"`
	Name         string               `json:"name"`
	Type         string               `json:"type"`
	DriverType   string               `json:"driver_type"`
	DriverInputs DriverInputs         `json:"driver_inputs"`
	Provision    map[string]Provision `json:"provision"`
	Criteria     []Criterion          `json:"criteria"`
	CreatedBy    string               `json:"created_by"`
	IsDeleted    bool                 `json:"is_deleted"`
}

// AgentCreate is AgentCreateBody.
type AgentCreate struct {
	ID          string `json:"id"`
	PublicKey   string `json:"public_key"`
	Description string `json:"description,omitempty"`
}

// Agent is Agent.
type Agent struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	CreatedBy   string `json:"created_by"`
}

// KeyInfo is Key: a public key registered for an agent.
type KeyInfo struct {
	Fingerprint string `json:"fingerprint"`
	PublicKey   string `json:"public_key"`
}

// Class is ResourceClassResponse.
type Class struct {
	ID           string `json:"id"`
	ResourceType string `json:"resource_type"`
	Description  string `json:"description"`
}

// Deploy is DeploymentResponse. Status is one of the Deploy* constants.
type Deploy struct {
	ID              string    `json:"id"`
	EnvID           string    `json:"env_id"`
	Status          string    `json:"status"`
	Comment         string    `json:"comment"`
	CreatedAt       time.Time `json:"created_at"`
	CreatedBy       string    `json:"created_by"`
	StatusChangedAt time.Time `json:"status_changed_at"`
}

// The statuses of a deployment, as DeploymentResponse lists them.
const (
	DeployPending    = "pending"
	DeployInProgress = "in progress"
	DeploySucceeded  = "succeeded"
	DeployFailed     = "failed"
)

// DeployError is DeploymentErrorResponse: one thing that went wrong in a
// deployment. Scope says what ObjectID is ("workload", a resource, ...).
type DeployError struct {
	Scope     string `json:"scope"`
	ObjectID  string `json:"object_id"`
	Code      string `json:"code"`
	Summary   string `json:"summary"`
	Message   string `json:"message"`
	ErrorType string `json:"error_type"`
}

// ActiveResource is ActiveResourceResponse: a resource provisioned in an
// environment. Resource holds its outputs (values only; a dns resource's
// "host").
type ActiveResource struct {
	Type              string         `json:"type"`
	ResID             string         `json:"res_id"`
	DefID             string         `json:"def_id"`
	Class             string         `json:"class"`
	Status            string         `json:"status"`
	DeployID          string         `json:"deploy_id"`
	Resource          map[string]any `json:"resource"`
	ScheduledDeletion bool           `json:"scheduled_deletion"`
}

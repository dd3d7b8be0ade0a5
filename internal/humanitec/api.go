package humanitec

import (
	"context"
	"net/http"
	"net/url"
)

// The typed calls. Each is one operation of the OpenAPI document; errors are
// *APIError or *NetError (possibly wrapped by the retry loop).

// CurrentUser reads the token's user and its roles (GET /current-user).
func (c *Client) CurrentUser(ctx context.Context) (CurrentUser, error) {
	var u CurrentUser
	return u, c.do(ctx, http.MethodGet, "/current-user", nil, nil, &u)
}

// Organization reads the org (GET /orgs/{orgId}).
func (c *Client) Organization(ctx context.Context) (Organization, error) {
	var o Organization
	return o, c.do(ctx, http.MethodGet, c.orgPath(), nil, nil, &o)
}

// EnvType reads an environment type.
func (c *Client) EnvType(ctx context.Context, id string) (EnvType, error) {
	var e EnvType
	return e, c.do(ctx, http.MethodGet, c.orgPath("env-types", id), nil, nil, &e)
}

// CreateEnvType creates an environment type (201).
func (c *Client) CreateEnvType(ctx context.Context, e EnvType) error {
	return c.do(ctx, http.MethodPost, c.orgPath("env-types"), nil, e, nil)
}

// DeleteEnvType deletes an environment type; 409 while environments use it.
func (c *Client) DeleteEnvType(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, c.orgPath("env-types", id), nil, nil, nil)
}

// Apps lists the org's applications with their environments.
func (c *Client) Apps(ctx context.Context) ([]App, error) {
	var a []App
	return a, c.do(ctx, http.MethodGet, c.orgPath("apps"), nil, nil, &a)
}

// App reads an application.
func (c *Client) App(ctx context.Context, id string) (App, error) {
	var a App
	return a, c.do(ctx, http.MethodGet, c.orgPath("apps", id), nil, nil, &a)
}

// CreateApp creates an application with its first environment (201).
func (c *Client) CreateApp(ctx context.Context, a AppCreate) error {
	return c.do(ctx, http.MethodPost, c.orgPath("apps"), nil, a, nil)
}

// DeleteApp starts deleting an application with its environments and values
// (202: it is gone once App answers 404).
func (c *Client) DeleteApp(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, c.orgPath("apps", id), nil, nil, nil)
}

// CreateEnv creates an environment in an application (201).
func (c *Client) CreateEnv(ctx context.Context, appID string, e EnvBase) error {
	return c.do(ctx, http.MethodPost, c.orgPath("apps", appID, "envs"), nil, e, nil)
}

// Values lists an application's shared values.
func (c *Client) Values(ctx context.Context, appID string) ([]Value, error) {
	var v []Value
	return v, c.do(ctx, http.MethodGet, c.orgPath("apps", appID, "values"), nil, nil, &v)
}

// CreateValue creates a shared value (201).
func (c *Client) CreateValue(ctx context.Context, appID string, v ValueCreate) error {
	return c.do(ctx, http.MethodPost, c.orgPath("apps", appID, "values"), nil, v, nil)
}

// PatchValue changes a shared value's value or description.
func (c *Client) PatchValue(ctx context.Context, appID, key string, p ValuePatch) error {
	return c.do(ctx, http.MethodPatch, c.orgPath("apps", appID, "values", key), nil, p, nil)
}

// DeleteValue deletes a shared value.
func (c *Client) DeleteValue(ctx context.Context, appID, key string) error {
	return c.do(ctx, http.MethodDelete, c.orgPath("apps", appID, "values", key), nil, nil, nil)
}

// Definitions lists the org's resource definitions.
func (c *Client) Definitions(ctx context.Context) ([]Definition, error) {
	var d []Definition
	return d, c.do(ctx, http.MethodGet, c.orgPath("resources", "defs"), nil, nil, &d)
}

// Definition reads a resource definition.
func (c *Client) Definition(ctx context.Context, id string) (Definition, error) {
	var d Definition
	return d, c.do(ctx, http.MethodGet, c.orgPath("resources", "defs", id), nil, nil, &d)
}

// CreateDefinition creates a resource definition with its criteria.
func (c *Client) CreateDefinition(ctx context.Context, d DefinitionCreate) error {
	return c.do(ctx, http.MethodPost, c.orgPath("resources", "defs"), nil, d, nil)
}

// UpdateDefinition replaces a resource definition (its type cannot change).
func (c *Client) UpdateDefinition(ctx context.Context, id string, d DefinitionUpdate) error {
	return c.do(ctx, http.MethodPut, c.orgPath("resources", "defs", id), nil, d, nil)
}

// SetCriteria replaces a resource definition's matching criteria.
func (c *Client) SetCriteria(ctx context.Context, defID string, rules []Criterion) error {
	return c.do(ctx, http.MethodPut, c.orgPath("resources", "defs", defID, "criteria"), nil, rules, nil)
}

// DeleteCriterion deletes one matching criterion, even if active resources
// depend on it (force).
func (c *Client) DeleteCriterion(ctx context.Context, defID, criterionID string) error {
	return c.do(ctx, http.MethodDelete, c.orgPath("resources", "defs", defID, "criteria", criterionID), force, nil, nil)
}

// DeleteDefinition deletes a resource definition, even if active resources
// use it (force).
func (c *Client) DeleteDefinition(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, c.orgPath("resources", "defs", id), force, nil, nil)
}

var force = url.Values{"force": {"true"}}

// Agents lists the org's agents (there is no call to read one).
func (c *Client) Agents(ctx context.Context) ([]Agent, error) {
	var a []Agent
	return a, c.do(ctx, http.MethodGet, c.orgPath("agents"), nil, nil, &a)
}

// CreateAgent registers an agent with its first public key.
func (c *Client) CreateAgent(ctx context.Context, a AgentCreate) error {
	return c.do(ctx, http.MethodPost, c.orgPath("agents"), nil, a, nil)
}

// SetAgentDescription changes an agent's description.
func (c *Client) SetAgentDescription(ctx context.Context, id, description string) error {
	return c.do(ctx, http.MethodPatch, c.orgPath("agents", id), nil, map[string]string{"description": description}, nil)
}

// DeleteAgent deletes an agent and its keys.
func (c *Client) DeleteAgent(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, c.orgPath("agents", id), nil, nil, nil)
}

// AgentKeys lists an agent's public keys.
func (c *Client) AgentKeys(ctx context.Context, agentID string) ([]KeyInfo, error) {
	var k []KeyInfo
	return k, c.do(ctx, http.MethodGet, c.orgPath("agents", agentID, "keys"), nil, nil, &k)
}

// AddAgentKey registers another public key for an agent.
func (c *Client) AddAgentKey(ctx context.Context, agentID, publicKeyPEM string) error {
	return c.do(ctx, http.MethodPost, c.orgPath("agents", agentID, "keys"), nil, map[string]string{"public_key": publicKeyPEM}, nil)
}

// Classes lists the org's resource classes.
func (c *Client) Classes(ctx context.Context) ([]Class, error) {
	var k []Class
	return k, c.do(ctx, http.MethodGet, c.orgPath("resources", "classes"), nil, nil, &k)
}

// DeleteClass deletes a resource class.
func (c *Client) DeleteClass(ctx context.Context, resType, id string) error {
	return c.do(ctx, http.MethodDelete, c.orgPath("resources", "types", resType, "classes", id), nil, nil, nil)
}

// Deployments lists the deployments of an application's environment, newest
// first.
func (c *Client) Deployments(ctx context.Context, appID, envID string) ([]Deploy, error) {
	var d []Deploy
	return d, c.do(ctx, http.MethodGet, c.orgPath("apps", appID, "envs", envID, "deploys"), nil, nil, &d)
}

// Deployment reads one deployment.
func (c *Client) Deployment(ctx context.Context, appID, envID, deployID string) (Deploy, error) {
	var d Deploy
	return d, c.do(ctx, http.MethodGet, c.orgPath("apps", appID, "envs", envID, "deploys", deployID), nil, nil, &d)
}

// DeploymentErrors lists what went wrong in a deployment (empty unless it
// failed).
func (c *Client) DeploymentErrors(ctx context.Context, appID, envID, deployID string) ([]DeployError, error) {
	var e []DeployError
	return e, c.do(ctx, http.MethodGet, c.orgPath("apps", appID, "envs", envID, "deploys", deployID, "errors"), nil, nil, &e)
}

// ActiveResources lists the resources provisioned in an environment.
func (c *Client) ActiveResources(ctx context.Context, appID, envID string) ([]ActiveResource, error) {
	var r []ActiveResource
	return r, c.do(ctx, http.MethodGet, c.orgPath("apps", appID, "envs", envID, "resources"), nil, nil, &r)
}

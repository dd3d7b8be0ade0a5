package humanitectest

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Objects put in place by a test stand for what someone else made in the org
// (the course's tutorial, a Backstage-scaffolded app) or what an earlier run
// left behind. They are created as the given user would have, without any
// request, so they appear in no call log.

// App is an application to seed.
type App struct {
	ID, Name string
	// Envs are id → type; each type is created when missing.
	Envs map[string]string
}

// SeedApp creates an application in org.
func (s *Server) SeedApp(orgID string, a App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrg(orgID)
	now := stamp(time.Now())
	ap := &app{ID: a.ID, Name: a.Name, CreatedAt: now, CreatedBy: "someone-else", Status: "active", StatusChangedAt: now, values: map[string]*value{}}
	for _, id := range slices.Sorted(maps.Keys(a.Envs)) {
		typ := a.Envs[id]
		if o.envTypes[typ] == nil {
			o.envTypes[typ] = &envType{ID: typ, Description: "seeded"}
		}
		ap.envs = append(ap.envs, &env{ID: id, Name: id, Type: typ, CreatedAt: now, CreatedBy: "someone-else"})
	}
	o.apps[a.ID] = ap
}

// SeedEnvType creates an environment type in org.
func (s *Server) SeedEnvType(orgID, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustOrg(orgID).envTypes[id] = &envType{ID: id, Description: "seeded"}
}

// Definition is a resource definition to seed.
type Definition struct {
	ID, Name, Type, DriverType string
	Values                     map[string]any
	// Criteria are matching criteria as the API spells them
	// (env_type, class, res_id, app_id, env_id).
	Criteria        []map[string]string
	ActiveResources int
}

// SeedDefinition creates a resource definition in org.
func (s *Server) SeedDefinition(orgID string, d Definition) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrg(orgID)
	now := stamp(time.Now())
	def := &definition{ID: d.ID, Name: d.Name, Type: d.Type, DriverType: d.DriverType, Values: d.Values,
		CreatedAt: now, CreatedBy: "someone-else", UpdatedAt: now, Version: 1, ActiveResources: d.ActiveResources}
	for _, c := range d.Criteria {
		s.seq++
		cr := &criterion{ID: fmt.Sprintf("seeded-%d", s.seq),
			AppID: c["app_id"], EnvID: c["env_id"], EnvType: c["env_type"], ResID: c["res_id"], Class: c["class"]}
		if cr.Class == "" {
			cr.Class = "default"
		}
		def.Criteria = append(def.Criteria, cr)
	}
	o.defs[d.ID] = def
}

// SeedClass creates a resource class for a resource type in org.
func (s *Server) SeedClass(orgID, resType, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustOrg(orgID).classes[resType+"/"+id] = &class{ID: id, Type: resType, Description: "seeded",
		CreatedAt: stamp(time.Now()), CreatedBy: "someone-else"}
}

// SeedAgent registers an agent in org with a public key (PKIX PEM).
func (s *Server) SeedAgent(orgID, id, description, publicKeyPEM string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrg(orgID)
	a := &agent{ID: id, Description: description, CreatedAt: stamp(time.Now()), CreatedBy: "someone-else"}
	if fp, err := fingerprint(publicKeyPEM); err == nil {
		a.keys = append(a.keys, &agentKey{Fingerprint: fp, PublicKey: publicKeyPEM, CreatedAt: a.CreatedAt,
			CreatedBy: a.CreatedBy, ExpiredAt: a.CreatedAt, Authorized: true})
	}
	o.agents[id] = a
}

// SetActiveResources makes a definition count as in use (or not).
func (s *Server) SetActiveResources(orgID, defID string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.mustOrg(orgID).defs[defID]; d != nil {
		d.ActiveResources = n
	}
}

// DefaultDNSResID is the res_id of the dns resource a scripted deployment
// provisions: the one Backstage's score file (score.5min.yaml) asks for in
// its workload "backstage" and gives the host of to its route.
const DefaultDNSResID = "modules.backstage.externals.dns"

// DeployScript says what becomes of a deployment, standing for the
// orchestrator's work: it stays "in progress" for InProgressFor after it
// was made, then it "failed" if Fail is set, with Errors served by
// GET .../deploys/{id}/errors, or else it "succeeded", and when Host is set
// the environment gets an active resource of type dns (res_id DNSResID)
// whose output host is Host. The fake works the status out whenever the
// deployment is looked at, so with InProgressFor 0 the first read after
// the POST sees it finished.
type DeployScript struct {
	InProgressFor time.Duration
	Fail          bool
	// Errors default to one generic error when Fail is set.
	Errors []DeployError
	Host   string
	// DNSResID defaults to DefaultDNSResID.
	DNSResID string
}

// DeployError is DeploymentErrorResponse, one error of a failed deployment.
type DeployError struct {
	Scope     string `json:"scope"` // e.g. "workload"
	ObjectID  string `json:"object_id"`
	Code      string `json:"code"`
	Summary   string `json:"summary"`
	Message   string `json:"message"`
	ErrorType string `json:"error_type"`
}

// ScriptDeploys scripts the deployments of an app's environment: those
// made later (POSTed, or seeded without a script of their own) and those
// still in progress, whose InProgressFor then counts from when they were
// made. Unscripted deployments stay "in progress". The app need not exist
// yet.
func (s *Server) ScriptDeploys(orgID, appID, envID string, sc DeployScript) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrg(orgID)
	sc.Errors = slices.Clone(sc.Errors)
	o.scripts[appID+"/"+envID] = &sc
	if a := o.apps[appID]; a != nil {
		for _, e := range a.envs {
			if e.ID != envID {
				continue
			}
			for _, d := range e.deploys {
				if d.Status == deployInProgress {
					d.script = &sc
				}
			}
		}
	}
}

// Deploy is a deployment to seed, as if it had been POSTed at CreatedAt.
type Deploy struct {
	Comment string
	// CreatedAt defaults to now.
	CreatedAt time.Time
	// Script says what becomes of it; nil takes the environment's (see
	// ScriptDeploys).
	Script *DeployScript
}

// SeedDeploy makes a deployment in an app's environment, without the
// POST's check that no other deployment is in progress, and returns its
// id. The app and the environment must exist.
func (s *Server) SeedDeploy(orgID, appID, envID string, d Deploy) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrg(orgID)
	a := o.apps[appID]
	var e *env
	if a != nil {
		if i := slices.IndexFunc(a.envs, func(e *env) bool { return e.ID == envID }); i >= 0 {
			e = a.envs[i]
		}
	}
	if e == nil {
		s.t.Fatalf("humanitectest: no environment %s in app %s of org %s (SeedApp it first)", envID, appID, orgID)
	}
	created := d.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	dp := s.newDeploy(o, a, e, d.Comment, "someone-else", created)
	if d.Script != nil {
		sc := *d.Script
		sc.Errors = slices.Clone(sc.Errors)
		dp.script = &sc
	}
	return dp.ID
}

// Objects lists what exists in org as sorted "kind/id" strings: env-type/,
// app/, env/<app>/, value/<app>/, definition/, criteria/<def>/ (with the
// rule instead of the id), agent/, agent-key/<agent>/, class/<type>/.
// Apps still being deleted are listed with a " (deleting)" suffix.
func (s *Server) Objects(orgID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrg(orgID)
	var out []string
	for id := range o.envTypes {
		out = append(out, "env-type/"+id)
	}
	for id, a := range o.apps {
		suffix := ""
		if a.Status == "deleting" {
			suffix = " (deleting)"
		}
		out = append(out, "app/"+id+suffix)
		for _, e := range a.envs {
			out = append(out, "env/"+id+"/"+e.ID+suffix)
		}
		for k := range a.values {
			out = append(out, "value/"+id+"/"+k+suffix)
		}
	}
	for id, d := range o.defs {
		out = append(out, "definition/"+id)
		for _, c := range d.Criteria {
			out = append(out, "criteria/"+id+"/"+describe(c))
		}
	}
	for id, a := range o.agents {
		out = append(out, "agent/"+id)
		for _, k := range a.keys {
			out = append(out, "agent-key/"+id+"/"+k.Fingerprint)
		}
	}
	for k := range o.classes {
		out = append(out, "class/"+k)
	}
	slices.Sort(out)
	return out
}

// SecretValue returns the stored (never served) value of an app's secret
// shared value, so a test can check what was sent.
func (s *Server) SecretValue(orgID, appID, key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.mustOrg(orgID).apps[appID]
	if a == nil || a.values[key] == nil {
		return "", false
	}
	return a.values[key].Value, true
}

// DefinitionSecrets returns the stored (never served) secret driver inputs
// of a resource definition.
func (s *Server) DefinitionSecrets(orgID, defID string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.mustOrg(orgID).defs[defID]; d != nil {
		return d.Secrets
	}
	return nil
}

func (s *Server) mustOrg(id string) *org {
	o := s.orgs[id]
	if o == nil {
		s.t.Fatalf("humanitectest: no org %q (AddOrg it first)", id)
	}
	return o
}

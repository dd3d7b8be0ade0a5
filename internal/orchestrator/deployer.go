package orchestrator

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
)

// Deployer carries deployments out. The server calls it outside its lock,
// one deployment per environment at a time.
type Deployer interface {
	// Deploy provisions job's resources and runs its workloads. It
	// returns the environment's resources afterwards, and errors the
	// learner can read when it failed.
	Deploy(ctx context.Context, job *Job) Result
	// Teardown removes everything deployments made in an environment.
	Teardown(ctx context.Context, app, env string) error
}

// Job is one deployment to carry out, with everything it needs copied out
// of the server's state.
type Job struct {
	Org, App, Env, EnvType, DeployID string
	Set                              Set
	// Values are the app's shared values, secrets included; SecretValues
	// says which are secret.
	Values       map[string]string
	SecretValues map[string]bool
	// Definitions are the org's live definitions, DefSecrets their driver
	// secrets by definition id.
	Definitions []*Definition
	DefSecrets  map[string]map[string]any
	// Previous are the environment's resources before this deployment, by
	// resource key (cookies and stable hosts come from there).
	Previous map[string]*ActiveResource
}

// Result is what became of a Job.
type Result struct {
	Resources []*ActiveResource
	Errors    []DeployError
}

// noDeployer succeeds at once without provisioning anything.
type noDeployer struct{}

func (noDeployer) Deploy(context.Context, *Job) Result            { return Result{} }
func (noDeployer) Teardown(context.Context, string, string) error { return nil }

func (s *Server) deployer() Deployer {
	if s.cfg.Deployer == nil {
		return noDeployer{}
	}
	return s.cfg.Deployer
}

// resKey names a resource of an environment in state.Resources.
func resKey(app, env, typ, class, resID string) string {
	return envKey(app, env) + "/" + typ + "/" + class + "/" + resID
}

// job copies out of the state what d needs. Under s.mu.
func (s *Server) job(a *App, e *Env, d *Deploy, set Set) *Job {
	j := &Job{Org: s.cfg.Org, App: a.ID, Env: e.ID, EnvType: e.Type, DeployID: d.ID, Values: s.st.sharedValues(a), SecretValues: map[string]bool{},
		DefSecrets: map[string]map[string]any{}, Previous: map[string]*ActiveResource{}}
	deepCopy(set, &j.Set)
	for k, v := range a.Values {
		j.SecretValues[k] = v.IsSecret
	}
	for _, id := range slices.Sorted(maps.Keys(s.st.Defs)) {
		def := s.st.Defs[id]
		if def.Deleted {
			continue
		}
		var c Definition
		deepCopy(def, &c)
		j.Definitions = append(j.Definitions, &c)
		if sec := s.st.defSecrets(def); sec != nil {
			j.DefSecrets[id] = sec
		}
	}
	prefix := envKey(a.ID, e.ID) + "/"
	for k, r := range s.st.Resources {
		if strings.HasPrefix(k, prefix) {
			var c ActiveResource
			deepCopy(r, &c)
			j.Previous[k] = &c
		}
	}
	return j
}

func deepCopy(in, out any) {
	b, err := json.Marshal(in)
	if err != nil {
		panic("orchestrator: copy: " + err.Error())
	}
	if err := json.Unmarshal(b, out); err != nil {
		panic("orchestrator: copy: " + err.Error())
	}
}

// run carries d out and records its outcome.
func (s *Server) run(j *Job) {
	defer s.running.Done()
	res := s.deployer().Deploy(s.ctx, j)
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.st.findDeploy(j.App, j.DeployID)
	a := s.st.Apps[j.App]
	if d == nil || a == nil || a.env(j.Env) == nil {
		return // the environment went while it ran
	}
	d.StatusChanged = stamp(s.cfg.Now())
	if len(res.Errors) > 0 {
		d.Status, d.Errors = DeployFailed, res.Errors
	} else {
		d.Status = DeploySucceeded
		a.env(j.Env).FromDeployID = d.ID
	}
	// After a success the environment has exactly the resources the
	// deployer returned; after a failure, what did get provisioned is
	// added to what was there.
	prefix := envKey(j.App, j.Env) + "/"
	if len(res.Errors) == 0 {
		for k := range s.st.Resources {
			if strings.HasPrefix(k, prefix) {
				delete(s.st.Resources, k)
			}
		}
	}
	for _, r := range res.Resources {
		s.st.Resources[resKey(r.AppID, r.EnvID, r.Type, r.Class, r.ResID)] = r
	}
	if err := s.persist(s.ctx); err != nil {
		s.log.Error("deployment outcome not saved", "app", j.App, "env", j.Env, "deploy", j.DeployID, "err", err)
	}
}

// teardownLater removes an environment's objects once the request that
// deleted it is answered.
func (s *Server) teardownLater(rq *request, app, env string) {
	prev := rq.after
	s.running.Add(1)
	rq.after = func() {
		if prev != nil {
			prev()
		}
		go func() {
			defer s.running.Done()
			if err := s.deployer().Teardown(s.ctx, app, env); err != nil {
				s.log.Error("environment not torn down", "app", app, "env", env, "err", err)
			}
		}()
	}
}

// failInterrupted marks deployments a restart cut off as failed. Under s.mu.
func (s *Server) failInterrupted() {
	for _, ds := range s.st.Deploys {
		for _, d := range ds {
			if d.Status == DeployInProgress {
				d.Status, d.StatusChanged = DeployFailed, stamp(s.cfg.Now())
				d.Errors = append(d.Errors, DeployError{Scope: "deployment", ObjectID: d.ID, Code: "POCKETIDP-RESTART",
					Summary: "Interrupted", Message: "The local orchestrator restarted while this deployment ran; deploy again."})
			}
		}
	}
}

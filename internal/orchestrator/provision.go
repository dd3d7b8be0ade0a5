package orchestrator

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The driver types the local orchestrator runs.
const (
	driverEcho     = "humanitec/echo"
	driverDNS      = "humanitec/dns-wildcard"
	driverTemplate = "humanitec/template"
	driverIngress  = "humanitec/ingress"
	// driverBuiltin marks a resource no definition matched, made the way
	// the hosted service makes it by default.
	driverBuiltin = "pocketidp/builtin"
)

// Resource types a deployment always has or that workloads name.
const (
	typeNamespace   = "k8s-namespace"
	typeEnvironment = "environment"
	typeDNS         = "dns"
	typeRoute       = "route"
	typeIngress     = "ingress"
	typeVolume      = "volume"
)

// namespaceResID is the id of the environment's namespace resource.
const namespaceResID = "k8s-namespace"

// provisioned is one resource of a deployment, once its driver ran.
type provisioned struct {
	Type, Class, ResID, GUResID string
	Params                      map[string]any
	Def                         *Definition // nil for a built-in
	Criterion                   *Criterion
	DriverType                  string
	// Config are a definition's resolved driver values (an ingress keeps
	// its class and annotations there).
	Config           map[string]any
	Outputs, Secrets map[string]any
	Cookie           map[string]any
	Manifests        []Manifest
	DependsOn        []string
}

func (p *provisioned) key() string { return p.Type + "." + p.Class + "#" + p.ResID }

// plan provisions a deployment's resources, each once, dependencies first.
type plan struct {
	job  *Job
	cfg  *EngineConfig
	ctx  Context
	done map[string]*provisioned
	busy map[string]bool
	// order is the order resources finished in: dependencies first.
	order []*provisioned
}

func newPlan(j *Job, cfg *EngineConfig) *plan {
	return &plan{job: j, cfg: cfg, ctx: Context{App: j.App, Env: j.Env, EnvType: j.EnvType},
		done: map[string]*provisioned{}, busy: map[string]bool{}}
}

// resourceError is a resource that could not be provisioned, for the
// deployment's errors.
type resourceError struct {
	key string
	err error
}

func (e *resourceError) Error() string { return fmt.Sprintf("resource %s: %v", e.key, e.err) }
func (e *resourceError) Unwrap() error { return e.err }

// provision runs the resource's driver (once per deployment) and returns
// it. Placeholders in its definition that name other resources provision
// those first.
func (p *plan) provision(typ, class, resID string, params map[string]any) (*provisioned, error) {
	class = cmp.Or(class, defaultClass)
	r := &provisioned{Type: typ, Class: class, ResID: resID, Params: params}
	key := r.key()
	if d := p.done[key]; d != nil {
		return d, nil
	}
	if p.busy[key] {
		return nil, &resourceError{key, fmt.Errorf("depends on itself through its definition's placeholders")}
	}
	p.busy[key] = true
	defer delete(p.busy, key)
	r.GUResID = guresid(p.ctx, typ, class, resID)
	if err := p.run(r); err != nil {
		// A dependency's error keeps naming the dependency.
		if re := (*resourceError)(nil); errors.As(err, &re) {
			return nil, err
		}
		return nil, &resourceError{key, err}
	}
	p.done[key] = r
	p.order = append(p.order, r)
	return r, nil
}

func (p *plan) run(r *provisioned) error {
	m, ok := resolve(p.job.Definitions, p.ctx, r.Type, r.ResID, r.Class)
	if !ok {
		return p.builtin(r)
	}
	r.Def, r.Criterion, r.DriverType = m.Def, m.Criterion, m.Def.DriverType
	look := p.defLookup(r)
	values, _, err := expandAll(orEmpty(m.Def.Values), look)
	if err != nil {
		return fmt.Errorf("definition %s: %w", m.Def.ID, err)
	}
	secrets, _, err := expandAll(orEmpty(p.job.DefSecrets[m.Def.ID]), look)
	if err != nil {
		return fmt.Errorf("definition %s secrets: %w", m.Def.ID, err)
	}
	r.Config = values.(map[string]any)
	sec := secrets.(map[string]any)
	switch m.Def.DriverType {
	case driverEcho:
		r.Outputs, r.Secrets = r.Config, sec
	case driverDNS:
		host, err := p.host(r, toString(r.Config["domain"]), r.Config["template"])
		if err != nil {
			return fmt.Errorf("definition %s: %w", m.Def.ID, err)
		}
		r.Outputs = map[string]any{"host": host}
	case driverIngress:
		r.Outputs = map[string]any{"id": r.GUResID}
	case driverTemplate:
		var cookie map[string]any
		if prev := p.previous(r); prev != nil {
			cookie = prev.Cookie
		}
		out, err := renderTemplate(TemplateInput{ID: r.ResID, Type: r.Type, Class: r.Class, GUResID: r.GUResID,
			Values: r.Config, Secrets: sec, Resource: r.Params, Cookie: cookie})
		if err != nil {
			return fmt.Errorf("definition %s: %w", m.Def.ID, err)
		}
		r.Outputs, r.Secrets, r.Cookie, r.Manifests = out.Outputs, out.Secrets, out.Cookie, out.Manifests
		// Manifests may use placeholders too (a volume's name from its
		// guresid).
		for i, mf := range r.Manifests {
			data, _, err := expandAll(mf.Data, look)
			if err != nil {
				return fmt.Errorf("definition %s, manifest %s: %w", m.Def.ID, mf.Name, err)
			}
			r.Manifests[i].Data = data.(map[string]any)
		}
	default:
		return fmt.Errorf("definition %s uses driver %s, which PocketIDP's local orchestrator does not run: use %s, %s, %s or %s",
			m.Def.ID, m.Def.DriverType, driverEcho, driverDNS, driverTemplate, driverIngress)
	}
	// What the definition brings along is provisioned with it.
	for _, k := range slices.Sorted(maps.Keys(m.Def.Provision)) {
		typ, class, id := parseResourceRef(k, r.ResID)
		dep, err := p.provision(typ, class, id, m.Def.Provision[k].Params)
		if err != nil {
			return err
		}
		if m.Def.Provision[k].IsDependent {
			dep.DependsOn = append(dep.DependsOn, r.key())
		} else {
			r.DependsOn = append(r.DependsOn, dep.key())
		}
	}
	return nil
}

// previous is the resource as the environment's last deployment left it.
func (p *plan) previous(r *provisioned) *ActiveResource {
	return p.job.Previous[resKey(p.job.App, p.job.Env, r.Type, r.Class, r.ResID)]
}

// host returns the resource's host under domain: the one it had, or a new
// one from the template (placeholders resolved, then a Go template, so
// "{{ randAlphaNum 4 | lower }}" gives each resource its own).
func (p *plan) host(r *provisioned, domain string, tpl any) (string, error) {
	domain = cmp.Or(domain, p.cfg.Domain)
	if prev := p.previous(r); prev != nil {
		if h, _ := prev.Outputs["host"].(string); strings.HasSuffix(h, "."+domain) {
			return h, nil // stable: a host kept per resource
		}
	}
	t, _ := tpl.(string)
	if t == "" {
		t = p.job.App + "-{{ randAlphaNum 4 | lower }}"
	}
	out, err := renderYAML("dns template", "host: "+t, nil)
	if err != nil {
		return "", err
	}
	label := strings.ToLower(toString(out["host"]))
	if !dnsLabel.MatchString(label) {
		return "", fmt.Errorf("the dns template gives %q, which is not a DNS label", label)
	}
	return label + "." + domain, nil
}

// parseResourceRef reads "type", "type.class", "type#id" or
// "type.class#id"; the id defaults to self, the class to default.
func parseResourceRef(ref, self string) (typ, class, id string) {
	ref, id, hasID := strings.Cut(ref, "#")
	if !hasID {
		id = self
	}
	typ, class, _ = strings.Cut(ref, ".")
	return typ, cmp.Or(class, defaultClass), id
}

// defLookup resolves placeholders in a definition's inputs.
func (p *plan) defLookup(r *provisioned) Lookup {
	return func(path []string) (any, bool, bool, error) {
		switch path[0] {
		case "context":
			return p.contextValue(r, path[1:])
		case "resources":
			if len(path) < 3 || path[2] != "outputs" {
				return nil, false, false, fmt.Errorf("${resources...} must name outputs, as in ${resources['dns'].outputs.host}")
			}
			typ, class, id := parseResourceRef(path[1], r.ResID)
			dep, err := p.provision(typ, class, id, nil)
			if err != nil {
				return nil, false, false, err
			}
			r.DependsOn = append(r.DependsOn, dep.key())
			return outputValue(dep, path[3:])
		}
		return nil, false, false, nil
	}
}

// outputValue reads an output or secret output of a resource.
func outputValue(r *provisioned, path []string) (any, bool, bool, error) {
	if len(path) == 0 {
		return nil, false, false, nil
	}
	if v, ok := walk(r.Outputs, path); ok {
		return v, false, true, nil
	}
	if v, ok := walk(r.Secrets, path); ok {
		return v, true, true, nil
	}
	return nil, false, false, nil
}

func (p *plan) contextValue(r *provisioned, path []string) (any, bool, bool, error) {
	vals := map[string]any{
		"app": map[string]any{"id": p.job.App},
		"env": map[string]any{"id": p.job.Env, "type": p.job.EnvType},
		"org": map[string]any{"id": p.job.Org},
	}
	if r != nil {
		vals["res"] = map[string]any{"id": r.ResID, "type": r.Type, "class": r.Class, "guresid": r.GUResID}
	}
	v, ok := walk(vals, path)
	return v, false, ok, nil
}

// builtin makes a resource no definition matched, as the hosted service
// does by default; other types need a definition.
func (p *plan) builtin(r *provisioned) error {
	r.DriverType = driverBuiltin
	switch r.Type {
	case typeNamespace:
		r.Outputs = map[string]any{"namespace": namespaceName(p.job.App, p.job.Env)}
	case typeEnvironment:
		r.Outputs, r.Secrets = map[string]any{}, map[string]any{}
		for k, v := range p.job.Values {
			if p.job.SecretValues[k] {
				r.Secrets[k] = v
			} else {
				r.Outputs[k] = v
			}
		}
	case typeDNS:
		host, err := p.host(r, "", nil)
		if err != nil {
			return err
		}
		r.Outputs = map[string]any{"host": host}
	case typeRoute:
		r.Outputs = map[string]any{"host": r.Params["host"], "path": cmp.Or(toString(r.Params["path"]), "/"), "port": r.Params["port"]}
	case typeIngress:
		r.Outputs = map[string]any{"id": r.GUResID}
	case typeVolume:
		r.Manifests = []Manifest{{Name: "emptydir.yaml", Location: locVolumes,
			Data: map[string]any{"name": r.GUResID, "emptyDir": map[string]any{}}}}
		r.Outputs = map[string]any{"source": r.GUResID}
	default:
		hint := fmt.Sprintf("{\"env_type\": %q}", p.job.EnvType)
		if r.Class != defaultClass {
			hint = fmt.Sprintf("{\"env_type\": %q, \"class\": %q}", p.job.EnvType, r.Class)
		}
		return fmt.Errorf("no resource definition of type %s matches class %s in %s/%s (env type %s): create one, or add matching criteria %s to one (PUT /orgs/%s/resources/defs/<id>/criteria)",
			r.Type, r.Class, p.job.App, p.job.Env, p.job.EnvType, hint, p.job.Org)
	}
	return nil
}

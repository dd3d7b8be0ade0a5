package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Defaults of an Engine.
const (
	DefaultDomain       = "localhost"
	DefaultIngressClass = "traefik"
)

// EngineConfig is what the deployment engine needs.
type EngineConfig struct {
	// Domain is where dns resources get their hosts (default localhost).
	Domain string
	// IngressClass serves routes (default traefik).
	IngressClass string
	// HostAliases are given to every workload's pods (in local mode,
	// api.humanitec.io to the orchestrator for Backstage's plugin).
	HostAliases []corev1.HostAlias
	// Issuer, when set, gives each route's host its own certificate (else
	// the ingress serves its default one).
	Issuer *Issuer
	// ReadyTimeout is how long a deployment waits for its workloads to be
	// ready; 0 does not wait (an API server without controllers).
	ReadyTimeout time.Duration
	Logger       *slog.Logger
}

// Engine carries deployments out in a cluster: it resolves resources,
// runs their drivers, renders workloads and applies it all with
// server-side apply, pruning what a newer deployment no longer has.
type Engine struct {
	cfg    EngineConfig
	dyn    dynamic.Interface
	cs     kubernetes.Interface
	mapper meta.RESTMapper
}

// NewEngine connects an Engine to the cluster rc points at.
func NewEngine(rc *rest.Config, cfg EngineConfig) (*Engine, error) {
	if cfg.Domain == "" {
		cfg.Domain = DefaultDomain
	}
	if cfg.IngressClass == "" {
		cfg.IngressClass = DefaultIngressClass
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("orchestrator engine: %w", err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("orchestrator engine: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("orchestrator engine: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	return &Engine{cfg: cfg, dyn: dyn, cs: cs, mapper: mapper}, nil
}

// Deploy implements Deployer.
func (e *Engine) Deploy(ctx context.Context, j *Job) Result {
	p := newPlan(j, &e.cfg)
	objs, errs := p.render()
	res := p.resources()
	if len(errs) > 0 {
		return Result{Resources: res, Errors: errs}
	}
	if err := e.apply(ctx, j, objs); err != nil {
		return Result{Resources: res, Errors: []DeployError{applyError(err)}}
	}
	if e.cfg.ReadyTimeout > 0 {
		if errs := e.waitReady(ctx, j, objs); len(errs) > 0 {
			return Result{Resources: res, Errors: errs}
		}
	}
	return Result{Resources: res}
}

// render provisions every resource and renders every object of the
// deployment; errors are for the learner, one per resource or workload.
func (p *plan) render() ([]runtime.Object, []DeployError) {
	ns, err := p.provision(typeNamespace, defaultClass, namespaceResID, nil)
	if err != nil {
		return nil, []DeployError{resError(err)}
	}
	namespace := toString(ns.Outputs["namespace"])
	if !dnsLabel.MatchString(namespace) {
		return nil, []DeployError{{Scope: "resource", ObjectID: ns.ResID, Code: "POCKETIDP-NAMESPACE", Summary: "Invalid namespace",
			Message: fmt.Sprintf("the k8s-namespace resource gives namespace %q, which is not a valid name: fix its definition", namespace)}}
	}
	objs := []runtime.Object{&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: namespace}}}
	var errs []DeployError
	for _, name := range slices.Sorted(maps.Keys(p.job.Set)) {
		m := p.job.Set[name]
		w := &workload{name: name, namespace: namespace, externals: map[string]*provisioned{}}
		failed := false
		for _, ext := range slices.Sorted(maps.Keys(m.Externals)) {
			r, err := p.external(w, name, ext, m.Externals)
			if err != nil {
				errs, failed = append(errs, resError(err)), true
				continue
			}
			w.externals[ext] = r
		}
		if failed {
			continue
		}
		var spec moduleSpec
		deepCopy(m.Spec, &spec)
		if err := p.renderWorkload(w, spec); err != nil {
			errs = append(errs, DeployError{Scope: "workload", ObjectID: name, Code: "POCKETIDP-WORKLOAD",
				Summary: "Workload cannot be rendered", Message: fmt.Sprintf("workload %s: %v", name, err)})
			continue
		}
		for _, ext := range slices.Sorted(maps.Keys(w.externals)) {
			if r := w.externals[ext]; r.Type == typeRoute {
				ing, err := p.renderRoute(w, r)
				if err != nil {
					errs = append(errs, DeployError{Scope: "resource", ObjectID: r.ResID, Code: "POCKETIDP-ROUTE", Summary: "Route cannot be rendered", Message: err.Error()})
					continue
				}
				w.objects = append(w.objects, ing...)
			}
		}
		objs = append(objs, w.objects...)
	}
	// What template definitions render goes to the namespace or the cluster.
	for _, r := range p.order {
		for _, mf := range r.Manifests {
			switch mf.Location {
			case locNamespace:
				u := mapObject(mf.Data)
				u.SetNamespace(namespace)
				objs = append(objs, u)
			case locCluster:
				objs = append(objs, mapObject(mf.Data))
			}
		}
	}
	return objs, errs
}

// external provisions a workload's resource. Its params may name the
// workload's other resources (a route's host from its dns), which go first.
func (p *plan) external(w *workload, module, name string, all map[string]any) (*provisioned, error) {
	if r := w.externals[name]; r != nil {
		return r, nil
	}
	spec, _ := all[name].(map[string]any)
	if spec == nil {
		return nil, &resourceError{"modules." + module + ".externals." + name, fmt.Errorf("resource %s of workload %s is not an object with a type", name, module)}
	}
	typ, _ := spec["type"].(string)
	class, _ := spec["class"].(string)
	resID := "modules." + module + ".externals." + name
	if typ == "" {
		return nil, &resourceError{resID, errors.New("the resource has no type")}
	}
	if id, _ := spec["id"].(string); id != "" {
		resID = id // a resource shared by id
	}
	var deps []string
	look := func(path []string) (any, bool, bool, error) {
		if (path[0] == "externals" || path[0] == "resources") && len(path) > 1 && path[1] != name {
			dep, err := p.external(w, module, path[1], all)
			if err != nil {
				return nil, false, false, err
			}
			w.externals[path[1]] = dep
			deps = append(deps, dep.key())
			return outputValue(dep, path[2:])
		}
		return p.workloadLookup(w)(path)
	}
	params, _, err := expandAll(orEmpty(asMap(spec["params"])), look)
	if err != nil {
		return nil, &resourceError{resID, err}
	}
	r, err := p.provision(typ, class, resID, params.(map[string]any))
	if err != nil {
		return nil, err
	}
	r.DependsOn = append(r.DependsOn, deps...)
	return r, nil
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

func resError(err error) DeployError {
	var re *resourceError
	id := ""
	if errors.As(err, &re) {
		id = re.key
	}
	return DeployError{Scope: "resource", ObjectID: id, Code: "POCKETIDP-RESOURCE", Summary: "Resource cannot be provisioned", Message: err.Error()}
}

// resources are the deployment's resources as the API lists them.
func (p *plan) resources() []*ActiveResource {
	var out []*ActiveResource
	now := stamp(time.Now())
	for _, r := range p.order {
		a := &ActiveResource{AppID: p.job.App, EnvID: p.job.Env, EnvType: p.job.EnvType, ResID: r.ResID, Type: r.Type,
			Class: r.Class, DriverType: r.DriverType, DeployID: p.job.DeployID, GUResID: r.GUResID, UpdatedAt: now,
			Outputs: r.Outputs, Secrets: r.Secrets, Cookie: r.Cookie, DependsOn: slices.Compact(slices.Sorted(slices.Values(r.DependsOn)))}
		if r.Def != nil {
			a.DefID, a.DefVersionID, a.CriteriaID = r.Def.ID, r.Def.versionID(), r.Criterion.ID
		} else {
			a.DefID, a.DefVersionID = "builtin-"+r.Type, "builtin-"+r.Type
		}
		out = append(out, a)
	}
	return out
}

func applyError(err error) DeployError {
	return DeployError{Scope: "deployment", Code: "POCKETIDP-APPLY", Summary: "Objects cannot be applied", Message: err.Error()}
}

package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// What marks the objects a deployment applies.
const (
	fieldManager = "pocketidp-orchestrator"
	labelApp     = "orchestrator.pocketidp.dev/app"
	labelEnv     = "orchestrator.pocketidp.dev/env"
	annotDeploy  = "orchestrator.pocketidp.dev/deploy"
	// annotKinds, on the environment's namespace, lists the kinds beyond
	// pruneKinds that its deployment applied, so the next one (or the
	// teardown) also looks there for what to delete: cluster-scoped
	// objects from template definitions outlive the namespace otherwise.
	annotKinds      = "orchestrator.pocketidp.dev/kinds"
	managedByEngine = "pocketidp-orchestrator"
)

// pruneKinds are looked at for objects an older deployment applied, beside
// the kinds this one applies.
var pruneKinds = []schema.GroupVersionKind{
	{Version: "v1", Kind: "Secret"}, {Version: "v1", Kind: "ConfigMap"}, {Version: "v1", Kind: "Service"},
	{Group: "apps", Version: "v1", Kind: "Deployment"}, {Group: "apps", Version: "v1", Kind: "StatefulSet"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"},
}

func mapObject(m map[string]any) *unstructured.Unstructured {
	var c map[string]any
	deepCopy(m, &c)
	return &unstructured.Unstructured{Object: c}
}

func toUnstructured(o runtime.Object) (*unstructured.Unstructured, error) {
	if u, ok := o.(*unstructured.Unstructured); ok {
		return u, nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	return u, nil
}

// objRef names one object for pruning.
type objRef struct {
	gvk       schema.GroupVersionKind
	namespace string
	name      string
}

func (e *Engine) resourceFor(gvk schema.GroupVersionKind) (dynamic.NamespaceableResourceInterface, bool, error) {
	m, err := e.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, false, fmt.Errorf("the cluster does not serve %s: %v", gvk, err)
	}
	return e.dyn.Resource(m.Resource), m.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

// apply applies objs (labelled for the environment) with server-side
// apply, then deletes what the environment's earlier deployments applied
// and this one does not.
func (e *Engine) apply(ctx context.Context, j *Job, objs []runtime.Object) error {
	keep := map[objRef]bool{}
	us := make([]*unstructured.Unstructured, 0, len(objs))
	var extra []string
	var nsObj *unstructured.Unstructured
	for _, o := range objs {
		u, err := toUnstructured(o)
		if err != nil {
			return err
		}
		us = append(us, u)
		gvk := u.GroupVersionKind()
		if gvk.Kind == "Namespace" && gvk.Group == "" && nsObj == nil {
			nsObj = u
		}
		if k := kindString(gvk); !slices.Contains(pruneKinds, gvk) && !slices.Contains(extra, k) && gvk.Kind != "Namespace" {
			extra = append(extra, k)
		}
	}
	kinds := slices.Clone(pruneKinds)
	if nsObj != nil {
		for _, k := range e.recordedKinds(ctx, nsObj.GetName()) {
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
		slices.Sort(extra)
		_ = unstructured.SetNestedField(nsObj.Object, strings.Join(extra, ","), "metadata", "annotations", annotKinds)
	}
	for _, u := range us {
		lbl := u.GetLabels()
		if lbl == nil {
			lbl = map[string]string{}
		}
		lbl[labelApp], lbl[labelEnv], lbl[labelManagedBy] = label(j.App), label(j.Env), managedByEngine
		u.SetLabels(lbl)
		ann := u.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[annotDeploy] = j.DeployID
		u.SetAnnotations(ann)
		gvk := u.GroupVersionKind()
		ri, namespaced, err := e.resourceFor(gvk)
		if err != nil {
			return fmt.Errorf("%s %s: %w", gvk.Kind, u.GetName(), err)
		}
		if !namespaced {
			u.SetNamespace("")
		}
		body, err := json.Marshal(u.Object)
		if err != nil {
			return err
		}
		var c dynamic.ResourceInterface = ri
		if namespaced {
			c = ri.Namespace(u.GetNamespace())
		}
		force := true
		if _, err := c.Patch(ctx, u.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: fieldManager, Force: &force}); err != nil {
			return fmt.Errorf("apply %s %s/%s: %w", gvk.Kind, u.GetNamespace(), u.GetName(), err)
		}
		keep[objRef{gvk, u.GetNamespace(), u.GetName()}] = true
		if !slices.Contains(kinds, gvk) {
			kinds = append(kinds, gvk)
		}
	}
	return e.prune(ctx, j, kinds, keep)
}

// kindString and parseKind write a kind as group/version/Kind.
func kindString(gvk schema.GroupVersionKind) string {
	return gvk.Group + "/" + gvk.Version + "/" + gvk.Kind
}

func parseKind(s string) (schema.GroupVersionKind, bool) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
		return schema.GroupVersionKind{}, false
	}
	return schema.GroupVersionKind{Group: parts[0], Version: parts[1], Kind: parts[2]}, true
}

// recordedKinds reads the kinds the environment's last deployment applied
// beyond pruneKinds, from its namespace.
func (e *Engine) recordedKinds(ctx context.Context, namespace string) []schema.GroupVersionKind {
	ns, err := e.cs.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	var out []schema.GroupVersionKind
	for _, s := range strings.Split(ns.Annotations[annotKinds], ",") {
		if gvk, ok := parseKind(s); ok {
			out = append(out, gvk)
		}
	}
	return out
}

func envSelector(app, env string) string {
	return fmt.Sprintf("%s=%s,%s=%s,%s=%s", labelApp, label(app), labelEnv, label(env), labelManagedBy, managedByEngine)
}

// prune deletes the environment's objects of kinds that keep does not hold.
func (e *Engine) prune(ctx context.Context, j *Job, kinds []schema.GroupVersionKind, keep map[objRef]bool) error {
	var errs []error
	for _, gvk := range kinds {
		ri, _, err := e.resourceFor(gvk)
		if err != nil {
			continue // a kind the cluster no longer serves has nothing to prune
		}
		list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: envSelector(j.App, j.Env)})
		if err != nil {
			errs = append(errs, fmt.Errorf("list %s to prune: %w", gvk.Kind, err))
			continue
		}
		for _, o := range list.Items {
			if keep[objRef{gvk, o.GetNamespace(), o.GetName()}] {
				continue
			}
			var c dynamic.ResourceInterface = ri
			if o.GetNamespace() != "" {
				c = ri.Namespace(o.GetNamespace())
			}
			if err := c.Delete(ctx, o.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("prune %s %s/%s: %w", gvk.Kind, o.GetNamespace(), o.GetName(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// Teardown implements Deployer: it deletes the environment's objects and
// its namespace.
func (e *Engine) Teardown(ctx context.Context, app, env string) error {
	j := &Job{App: app, Env: env}
	kinds := slices.Clone(pruneKinds)
	nss, err := e.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: envSelector(app, env)})
	if err == nil {
		for _, ns := range nss.Items {
			for _, k := range e.recordedKinds(ctx, ns.Name) {
				if !slices.Contains(kinds, k) {
					kinds = append(kinds, k)
				}
			}
		}
	}
	// The namespace goes last: what is recorded on it is read first.
	kinds = append(kinds, schema.GroupVersionKind{Version: "v1", Kind: "Namespace"})
	return e.prune(ctx, j, kinds, map[objRef]bool{})
}

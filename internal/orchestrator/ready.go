package orchestrator

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
)

// readyPoll is how often readiness is looked at.
const readyPoll = 2 * time.Second

// lastEvents is how many of an object's events an error quotes.
const lastEvents = 3

// waitReady waits for the deployment's Deployments and StatefulSets to be
// ready; for each that is not, the error says why and quotes its last
// events, so the learner can act on it.
func (e *Engine) waitReady(ctx context.Context, j *Job, objs []runtime.Object) []DeployError {
	type item struct{ kind, ns, name string }
	var items []item
	for _, o := range objs {
		switch x := o.(type) {
		case *appsv1.Deployment:
			items = append(items, item{"Deployment", x.Namespace, x.Name})
		default:
			if u, err := toUnstructured(o); err == nil && u.GetKind() == "StatefulSet" {
				items = append(items, item{"StatefulSet", u.GetNamespace(), u.GetName()})
			}
		}
	}
	var errs []DeployError
	deadline := time.Now().Add(e.cfg.ReadyTimeout)
	for _, it := range items {
		var why string
		err := wait.PollUntilContextTimeout(ctx, readyPoll, time.Until(deadline), true, func(ctx context.Context) (bool, error) {
			var ok bool
			ok, why = e.ready(ctx, it.kind, it.ns, it.name)
			return ok, nil
		})
		if err == nil {
			continue
		}
		msg := fmt.Sprintf("%s %s/%s is not ready after %s: %s", it.kind, it.ns, it.name, e.cfg.ReadyTimeout, why)
		if ev := e.events(ctx, it.ns, it.name); ev != "" {
			msg += "; last events: " + ev
		}
		errs = append(errs, DeployError{Scope: "workload", ObjectID: it.name, Code: "POCKETIDP-NOT-READY", Summary: it.kind + " not ready", Message: msg})
	}
	return errs
}

// ready reports whether the object is ready, and if not, why.
func (e *Engine) ready(ctx context.Context, kind, ns, name string) (bool, string) {
	var want, have int32
	var sel *metav1.LabelSelector
	switch kind {
	case "Deployment":
		d, err := e.cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		want, have, sel = ptrOr(d.Spec.Replicas, 1), d.Status.AvailableReplicas, d.Spec.Selector
	case "StatefulSet":
		s, err := e.cs.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		want, have, sel = ptrOr(s.Spec.Replicas, 1), s.Status.ReadyReplicas, s.Spec.Selector
	}
	if have >= want {
		return true, ""
	}
	why := fmt.Sprintf("%d of %d replicas ready", have, want)
	if sel != nil {
		pods, err := e.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(sel)})
		if err == nil {
			if r := podReasons(pods.Items); r != "" {
				why += " (" + r + ")"
			}
		}
	}
	return false, why
}

func ptrOr(p *int32, d int32) int32 {
	if p == nil {
		return d
	}
	return *p
}

// podReasons says why pods do not run: a container waiting (image pull,
// crash loop) or a pod not scheduled.
func podReasons(pods []corev1.Pod) string {
	var out []string
	for _, p := range pods {
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && w.Reason != "" {
				out = append(out, fmt.Sprintf("container %s: %s %s", cs.Name, w.Reason, w.Message))
			}
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				out = append(out, fmt.Sprintf("pod %s not scheduled: %s", p.Name, c.Message))
			}
		}
	}
	return strings.Join(slices.Compact(out), "; ")
}

// events quotes the last events of the namespace that concern name or its
// pods.
func (e *Engine) events(ctx context.Context, ns, name string) string {
	list, err := e.cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return ""
	}
	evs := slices.DeleteFunc(list.Items, func(ev corev1.Event) bool { return !strings.HasPrefix(ev.InvolvedObject.Name, name) })
	slices.SortFunc(evs, func(a, b corev1.Event) int { return a.LastTimestamp.Compare(b.LastTimestamp.Time) })
	if len(evs) > lastEvents {
		evs = evs[len(evs)-lastEvents:]
	}
	var out []string
	for _, ev := range evs {
		out = append(out, fmt.Sprintf("%s %s: %s", ev.InvolvedObject.Name, ev.Reason, ev.Message))
	}
	return strings.Join(out, "; ")
}

package orchestrator

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RuntimeReader is a Deployer that can say how an environment's workloads
// run. Backstage's Humanitec card reads it for every deployed environment.
type RuntimeReader interface {
	Runtime(ctx context.Context, namespace string, workloads []string) (map[string]map[string]Controller, error)
}

// Controller is a workload's controller as the runtime call reports it.
type Controller struct {
	Kind     string `json:"kind"`
	Replicas int    `json:"replicas"`
	// Status is Running, Starting or Failed; Message says why when not
	// Running.
	Status   string `json:"status"`
	Message  string `json:"message"`
	Revision int    `json:"revision"`
	Pods     []Pod  `json:"pods"`
}

// Pod is one pod of a controller.
type Pod struct {
	Name     string           `json:"podName"`
	Revision int              `json:"revision"`
	Phase    string           `json:"phase"`
	Status   string           `json:"status"`
	States   []map[string]any `json:"containerStatuses"`
}

// Runtime statuses.
const (
	runtimeRunning  = "Running"
	runtimeStarting = "Starting"
	runtimeFailed   = "Failed"
)

// failingReasons are container waiting reasons that will not pass alone.
var failingReasons = []string{"ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff", "CreateContainerConfigError", "InvalidImageName"}

// opRuntime answers the environment's runtime: its namespace and, per
// workload of the newest deployment, the module and its controllers. The
// cluster is asked after the state's lock is released.
func opRuntime(rq *request) (int, any) {
	a, e, st, out := rq.env()
	if e == nil {
		return st, out
	}
	ds := rq.st.Deploys[envKey(a.ID, e.ID)]
	if len(ds) == 0 {
		return http.StatusBadRequest, apiError(http.StatusBadRequest, fmt.Sprintf("Environment %s of %s has not been deployed yet.", e.ID, a.ID))
	}
	set := rq.st.Sets[ds[len(ds)-1].SetID]
	namespace := ""
	if ns := rq.st.Resources[resKey(a.ID, e.ID, typeNamespace, defaultClass, namespaceResID)]; ns != nil {
		namespace = toString(ns.Outputs["namespace"])
	}
	workloads := slices.Sorted(maps.Keys(set))
	modules := map[string]map[string]any{}
	for _, w := range workloads {
		modules[w] = set[w].json()
	}
	reader, _ := rq.s.deployer().(RuntimeReader)
	rq.later = func(ctx context.Context) (int, any) {
		if reader != nil && namespace != "" {
			ctrls, err := reader.Runtime(ctx, namespace, workloads)
			if err != nil {
				return http.StatusInternalServerError, apiError(http.StatusInternalServerError, "read the workloads from the cluster: "+err.Error())
			}
			for w, cs := range ctrls {
				for name, c := range cs {
					modules[w][name] = c
				}
			}
		}
		return http.StatusOK, map[string]any{"namespace": namespace, "modules": modules}
	}
	return http.StatusOK, nil
}

// Runtime implements RuntimeReader: each workload's Deployment and pods.
func (e *Engine) Runtime(ctx context.Context, namespace string, workloads []string) (map[string]map[string]Controller, error) {
	out := map[string]map[string]Controller{}
	for _, w := range workloads {
		d, err := e.cs.AppsV1().Deployments(namespace).Get(ctx, w, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		rev, _ := strconv.Atoi(d.Annotations["deployment.kubernetes.io/revision"])
		c := Controller{Kind: "Deployment", Replicas: int(ptrOr(d.Spec.Replicas, 1)), Revision: rev, Pods: []Pod{}}
		pods, err := e.cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(d.Spec.Selector)})
		if err != nil {
			return nil, err
		}
		var problems []string
		for _, p := range pods.Items {
			pod, why := podRuntime(p, rev)
			c.Pods = append(c.Pods, pod)
			problems = append(problems, why...)
		}
		switch {
		case d.Status.AvailableReplicas >= int32(c.Replicas):
			c.Status = runtimeRunning
		case len(problems) > 0:
			c.Status, c.Message = runtimeFailed, strings.Join(slices.Compact(problems), "; ")
		default:
			c.Status, c.Message = runtimeStarting, fmt.Sprintf("%d of %d replicas available", d.Status.AvailableReplicas, c.Replicas)
		}
		out[w] = map[string]Controller{w: c}
	}
	return out, nil
}

// podRuntime reports a pod, and why it fails if it does.
func podRuntime(p corev1.Pod, rev int) (Pod, []string) {
	pod := Pod{Name: p.Name, Revision: rev, Phase: string(p.Status.Phase), Status: "Pending", States: []map[string]any{}}
	if pod.Phase == "" {
		pod.Phase = string(corev1.PodPending)
	}
	var why []string
	ready := true
	for _, cs := range p.Status.ContainerStatuses {
		state := map[string]any{}
		switch {
		case cs.State.Waiting != nil:
			state["waiting"] = map[string]any{"reason": cs.State.Waiting.Reason, "message": cs.State.Waiting.Message}
			if slices.Contains(failingReasons, cs.State.Waiting.Reason) {
				why = append(why, fmt.Sprintf("pod %s, container %s: %s %s", p.Name, cs.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message))
			}
		case cs.State.Running != nil:
			state["running"] = map[string]any{"started_at": cs.State.Running.StartedAt.UTC().Format("2006-01-02T15:04:05Z")}
		case cs.State.Terminated != nil:
			state["terminated"] = map[string]any{"exit_code": cs.State.Terminated.ExitCode, "reason": cs.State.Terminated.Reason}
		}
		ready = ready && cs.Ready
		pod.States = append(pod.States, map[string]any{"name": cs.Name, "ready": cs.Ready, "restartCount": cs.RestartCount, "state": state})
	}
	switch {
	case len(why) > 0:
		pod.Status = "Failure"
	case ready && len(p.Status.ContainerStatuses) > 0:
		pod.Status = "Success"
	}
	return pod, why
}

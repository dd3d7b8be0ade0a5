package orchestrator

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pocketidp/pocketidp/internal/humanitec"
)

// Backstage's Humanitec card reads each deployed environment's runtime:
// starting, then failing with the container's reason, then running.
func TestRuntimeReportsWorkloadStatus(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	app := humanitec.AppID(p.install)
	ns := humanitec.Namespace(app, humanitec.EnvID)
	p.deployScore(t, app, readFixture(t, "backstage-catalog-templates/5min-podinfo/content/score.yaml"), "localhost:5001/podinfo:1")
	path := orgPath("/apps/", app, "/envs/", humanitec.EnvID, "/runtime")
	ctrl := func() map[string]any {
		rt := p.must(200, "GET", path, nil)
		if field(rt, "namespace") != ns {
			t.Fatalf("runtime namespace = %v, want %s", field(rt, "namespace"), ns)
		}
		c, _ := field(rt, "modules", "podinfo-workload", "podinfo-workload").(map[string]any)
		if c == nil {
			t.Fatalf("runtime has no controller for podinfo-workload: %v", rt)
		}
		return c
	}
	if c := ctrl(); c["status"] != runtimeStarting || c["kind"] != "Deployment" {
		t.Errorf("before any pod: %v", c)
	}

	// A pod whose image cannot be pulled (no kubelet here: the test plays it).
	dep, err := p.cs.AppsV1().Deployments(ns).Get(ctx, "podinfo-workload", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "podinfo-workload-abc", Namespace: ns, Labels: dep.Spec.Selector.MatchLabels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "podinfo", Image: "localhost:5001/podinfo:1"}}}}
	if pod, err = p.cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: "podinfo",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "not found"}}}}}
	if _, err := p.cs.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if c := ctrl(); c["status"] != runtimeFailed || !strings.Contains(toString(c["message"]), "ImagePullBackOff") {
		t.Errorf("with a pod that cannot pull: %v", c)
	}

	dep.Status.Replicas, dep.Status.ReadyReplicas, dep.Status.AvailableReplicas = 1, 1, 1
	if _, err := p.cs.AppsV1().Deployments(ns).UpdateStatus(ctx, dep, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if c := ctrl(); c["status"] != runtimeRunning {
		t.Errorf("when available: %v", c)
	}
}

package orchestrator

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pocketidp/pocketidp/internal/humanitec"
)

// A deployment whose workload never becomes ready fails with the object,
// the reason and its last events (no kubelet here: the test posts the
// event a node would).
func TestNotReadyWorkloadFailsWithItsEvents(t *testing.T) {
	p := newPlatform(t, EngineConfig{ReadyTimeout: 3 * time.Second})
	ctx := context.Background()
	app := humanitec.AppID(p.install)
	ns := humanitec.Namespace(app, humanitec.EnvID)
	if _, err := p.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "web-abc.1", Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-abc", Namespace: ns},
		Reason:         "Failed", Message: `Failed to pull image "localhost:5001/web:1": not found`, Type: "Warning",
		LastTimestamp: metav1.Now(), FirstTimestamp: metav1.Now(), Count: 1}
	if _, err := p.cs.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	body, err := ScoreDelta([]byte("apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers: {c: {image: localhost:5001/web:1}}\n"), humanitec.EnvID, "")
	if err != nil {
		t.Fatal(err)
	}
	env := orgPath("/apps/", app, "/envs/", humanitec.EnvID)
	delta := p.must(200, "POST", orgPath("/apps/", app, "/deltas"), body)
	d := p.must(201, "POST", env+"/deploys", map[string]any{"delta_id": field(delta, "id")})
	id := field(d, "id").(string)
	if got := waitStatus(t, p.served, env+"/deploys/"+id); got["status"] != DeployFailed {
		t.Fatalf("status %v, want failed", got["status"])
	}
	errs := p.must(200, "GET", env+"/deploys/"+id+"/errors", nil).([]any)
	if len(errs) != 1 {
		t.Fatalf("errors = %v", errs)
	}
	msg := toString(field(errs[0], "message"))
	for _, want := range []string{"Deployment " + ns + "/web is not ready after 3s", "0 of 1 replicas ready", "Failed to pull image"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}

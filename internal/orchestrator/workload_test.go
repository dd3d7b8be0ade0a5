package orchestrator

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pocketidp/pocketidp/internal/humanitec"
)

// A workload with files, shared values, its own name, a template resource
// that adds a sidecar and a cluster-scoped object, and what a later
// deployment without it prunes.
func TestWorkloadFilesValuesSidecarsAndClusterObjects(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	app := humanitec.AppID(p.install)
	ns := humanitec.Namespace(app, humanitec.EnvID)
	p.must(201, "POST", orgPath("/apps/", app, "/values"), map[string]any{"key": "GREETING", "value": "hello", "description": "g", "is_secret": false})
	p.must(201, "POST", orgPath("/apps/", app, "/values"), map[string]any{"key": "API_KEY", "value": "k3y", "description": "k", "is_secret": true})
	cr := "pocketidp-test-" + p.install
	p.must(200, "POST", orgPath("/resources/defs"), map[string]any{"id": "sidecar-" + p.install, "name": "sidecar", "type": "config",
		"driver_type": "humanitec/template", "criteria": []any{map[string]any{"app_id": app}},
		"driver_inputs": map[string]any{"values": map[string]any{"templates": map[string]any{
			"manifests": "sidecar.yaml:\n  location: containers\n  data:\n    name: proxy\n    image: envoy:1\n" +
				"role.yaml:\n  location: cluster\n  data:\n    apiVersion: rbac.authorization.k8s.io/v1\n    kind: ClusterRole\n    metadata:\n      name: " + cr + "\n    rules: []\n",
			"outputs": "mode: sidecar\n",
		}}}})
	score := `apiVersion: score.dev/v1b1
metadata: {name: web}
containers:
  main:
    image: nginx:1
    variables:
      NAME: ${metadata.name}
      GREETING: ${resources.env.GREETING}
      MODE: ${resources.cfg.mode}
    files:
      - target: /etc/app/config.txt
        content: "greeting=${resources.env.GREETING} key=${resources.env.API_KEY}"
resources:
  env: {type: environment}
  cfg: {type: config}
`
	p.deployScore(t, app, []byte(score), "")
	dep, err := p.cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := dep.Spec.Template.Spec
	if len(spec.Containers) != 2 || spec.Containers[1].Name != "proxy" {
		t.Errorf("containers = %+v, want main and the proxy sidecar", spec.Containers)
	}
	env := envOf(spec.Containers[0])
	if env["NAME"].Value != "web" || env["GREETING"].Value != "hello" || env["MODE"].Value != "sidecar" {
		t.Errorf("env = %+v", spec.Containers[0].Env)
	}
	var file *corev1.VolumeMount
	for i, m := range spec.Containers[0].VolumeMounts {
		if m.MountPath == "/etc/app/config.txt" {
			file = &spec.Containers[0].VolumeMounts[i]
		}
	}
	if file == nil {
		t.Fatalf("no file mount: %+v", spec.Containers[0].VolumeMounts)
	}
	cm, err := p.cs.CoreV1().ConfigMaps(ns).Get(ctx, "web-files", metav1.GetOptions{})
	if err != nil || cm.Data[file.SubPath] != "greeting=hello key=k3y" {
		t.Errorf("file content = %q, %v", cm.Data[file.SubPath], err)
	}
	if _, err := p.cs.RbacV1().ClusterRoles().Get(ctx, cr, metav1.GetOptions{}); err != nil {
		t.Errorf("cluster-scoped object: %v", err)
	}

	// Without the config resource, the sidecar and the ClusterRole go.
	p.deployScore(t, app, []byte(strings.ReplaceAll(strings.ReplaceAll(score, "  cfg: {type: config}\n", ""), "      MODE: ${resources.cfg.mode}\n", "")), "")
	dep, _ = p.cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Errorf("containers after the config went: %d", len(dep.Spec.Template.Spec.Containers))
	}
	if _, err := p.cs.RbacV1().ClusterRoles().Get(ctx, cr, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("ClusterRole after the config went: %v, want not found", err)
	}

	// Back again, then the environment torn down: its cluster-scoped
	// objects go with it.
	p.deployScore(t, app, []byte(score), "")
	if _, err := p.cs.RbacV1().ClusterRoles().Get(ctx, cr, metav1.GetOptions{}); err != nil {
		t.Fatalf("ClusterRole back: %v", err)
	}
	if err := p.srv.cfg.Deployer.Teardown(ctx, app, humanitec.EnvID); err != nil {
		t.Fatal(err)
	}
	if _, err := p.cs.RbacV1().ClusterRoles().Get(ctx, cr, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("ClusterRole after the teardown: %v, want not found", err)
	}
	if n, err := p.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil && n.DeletionTimestamp == nil {
		t.Errorf("namespace %s after the teardown is not being deleted", ns)
	}
}

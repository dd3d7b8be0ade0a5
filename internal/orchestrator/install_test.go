package orchestrator

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/testenv"
)

// The orchestrator's own objects are accepted by a real API server, and
// the Deployment runs the serve command with the token from the Secret.
func TestInstallObjectsApply(t *testing.T) {
	c := testenv.SharedAPIServer(t)
	eng, err := NewEngine(c.RESTConfig(), EngineConfig{})
	if err != nil {
		t.Fatal(err)
	}
	root, rootKey := testRoot(t)
	icrt, ikey, err := NewIntermediate(root, rootKey, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	objs, err := InstallObjects(InstallConfig{Org: "5min-local-abcd", Token: secret.New("pidp_install-token"), Image: "pocketidp:dev",
		APIAliasIP: "10.96.10.20", IssuerCertPEM: icrt, IssuerKeyPEM: ikey})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	j := &Job{App: "pocketidp", Env: "orchestrator", DeployID: "install"}
	if err := eng.apply(ctx, j, objs); err != nil {
		t.Fatal(err)
	}
	cs, _ := c.Clientset()
	dep, err := cs.AppsV1().Deployments(InstallNamespace).Get(ctx, InstallName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(dep.Spec.Template.Spec.Containers[0].Args, " ")
	for _, want := range []string{"orchestrator serve", "--org 5min-local-abcd", "--token-file /etc/pocketidp/token", "--host-alias 10.96.10.20=api.humanitec.io", "--issuer-dir /etc/pocketidp-issuer"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	if strings.Contains(args, "pidp_install-token") {
		t.Error("the token is on the command line")
	}
	ing, err := cs.NetworkingV1().Ingresses(InstallNamespace).Get(ctx, InstallName, metav1.GetOptions{})
	if err != nil || ing.Spec.Rules[0].Host != HostName {
		t.Fatalf("ingress: %v", err)
	}
	sec, err := cs.CoreV1().Secrets(InstallNamespace).Get(ctx, TokenSecretName, metav1.GetOptions{})
	if err != nil || string(sec.Data[TokenKey]) != "pidp_install-token" {
		t.Fatalf("token secret: %v", err)
	}
	if _, err := InstallObjects(InstallConfig{Org: "x"}); err == nil {
		t.Error("objects without token and image were made")
	}
	kinds := []string{}
	for _, o := range objs {
		kinds = append(kinds, o.GetObjectKind().GroupVersionKind().Kind)
	}
	if !slices.Contains(kinds, "ClusterRoleBinding") {
		t.Errorf("kinds = %v", kinds)
	}
}

// `up` installs the orchestrator (its Service's IP becomes api.humanitec.io
// for deployed pods), a re-run converges, and `down` removes it with
// everything it deployed, cluster-scoped objects included.
func TestInstallThenRemoveAll(t *testing.T) {
	c := testenv.SharedAPIServer(t)
	eng, err := NewEngine(c.RESTConfig(), EngineConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := c.Clientset()
	ctx := context.Background()
	cfg := InstallConfig{Org: "5min-local-abcd", Token: secret.New("pidp_t"), Image: "pocketidp.local/orchestrator:dev"}
	for range 2 {
		if err := eng.Install(ctx, cfg, 0); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := cs.CoreV1().Services(InstallNamespace).Get(ctx, InstallName, metav1.GetOptions{})
	if err != nil || svc.Spec.ClusterIP == "" {
		t.Fatalf("service: %v", err)
	}
	dep, err := cs.AppsV1().Deployments(InstallNamespace).Get(ctx, InstallName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if args := strings.Join(dep.Spec.Template.Spec.Containers[0].Args, " "); !strings.Contains(args, "--host-alias "+svc.Spec.ClusterIP+"=api.humanitec.io") {
		t.Errorf("args %q lack the Service's IP as api.humanitec.io", args)
	}
	// Something the orchestrator deployed, in an app's environment.
	p := newPlatform(t)
	app := humanitec.AppID(p.install)
	p.deployScore(t, app, readFixture(t, "backstage-catalog-templates/5min-podinfo/content/score.yaml"), "nginx:1")

	if err := eng.RemoveAll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{InstallNamespace, humanitec.Namespace(app, humanitec.EnvID)} {
		if n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil && n.DeletionTimestamp == nil {
			t.Errorf("namespace %s is not being deleted", ns)
		}
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Get(ctx, "pocketidp-orchestrator", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the orchestrator's ClusterRoleBinding after RemoveAll: %v", err)
	}
	// Wait for the namespace to go, so later tests can install again.
	testenv.Eventually(t, 30*time.Second, func() error {
		if _, err := cs.CoreV1().Namespaces().Get(ctx, InstallNamespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace %s still there: %v", InstallNamespace, err)
		}
		return nil
	})
}

package orchestrator

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
	t.Cleanup(func() { _ = eng.Teardown(context.Background(), j.App, j.Env) })
	cs, _ := c.Clientset()
	dep, err := cs.AppsV1().Deployments(InstallNamespace).Get(ctx, installName, metav1.GetOptions{})
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
	ing, err := cs.NetworkingV1().Ingresses(InstallNamespace).Get(ctx, installName, metav1.GetOptions{})
	if err != nil || ing.Spec.Rules[0].Host != HostName {
		t.Fatalf("ingress: %v", err)
	}
	sec, err := cs.CoreV1().Secrets(InstallNamespace).Get(ctx, tokenSecretName, metav1.GetOptions{})
	if err != nil || string(sec.Data[tokenKey]) != "pidp_install-token" {
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

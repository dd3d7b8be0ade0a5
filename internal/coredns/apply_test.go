package coredns_test

import (
	"context"
	"os"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/coredns"
	"github.com/pocketidp/pocketidp/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// createCoreDNS makes kube-system/coredns as kubeadm and kind do: the
// ConfigMap with the default Corefile and the Deployment that mounts it.
// The test bed's API server has neither.
func createCoreDNS(t *testing.T, cs kubernetes.Interface, corefile string) {
	t.Helper()
	ctx := context.Background()
	_ = cs.CoreV1().ConfigMaps("kube-system").Delete(ctx, "coredns", metav1.DeleteOptions{})
	_ = cs.AppsV1().Deployments("kube-system").Delete(ctx, "coredns", metav1.DeleteOptions{})
	if _, err := cs.CoreV1().ConfigMaps("kube-system").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "coredns"}, Data: map[string]string{"Corefile": corefile}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"k8s-app": "kube-dns"}
	if _, err := cs.AppsV1().Deployments("kube-system").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "coredns", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "coredns", Image: "registry.k8s.io/coredns/coredns:v1.12.1", Args: []string{"-conf", "/etc/coredns/Corefile"},
				}}},
			},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestApplyAndRemove(t *testing.T) {
	api := testenv.SharedAPIServer(t)
	cs, err := api.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	orig, err := os.ReadFile("testdata/corefile-kind.txt")
	if err != nil {
		t.Fatal(err)
	}
	createCoreDNS(t, cs, string(orig))
	r := coredns.Rules{Target: "traefik.traefik.svc.cluster.local", Hosts: []string{"git.localhost"}, LocalhostApps: true}
	get := func() (*corev1.ConfigMap, *appsv1.Deployment) {
		cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d, err := cs.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm, d
	}

	if ok, err := coredns.Current(ctx, cs, r); err != nil || ok {
		t.Fatalf("Current before apply = %v, %v", ok, err)
	}
	changed, err := coredns.Apply(ctx, cs, r)
	if err != nil || !changed {
		t.Fatalf("Apply = %v, %v", changed, err)
	}
	cm, d := get()
	want, _ := coredns.Patch(string(orig), r)
	if cm.Data["Corefile"] != want {
		t.Errorf("Corefile after Apply:\n%s\nwant:\n%s", cm.Data["Corefile"], want)
	}
	if !strings.Contains(cm.Data["Corefile"], "rewrite stop name exact git.localhost traefik.traefik.svc.cluster.local") {
		t.Errorf("no git.localhost rule in the Corefile")
	}
	if d.Spec.Template.Annotations[coredns.RestartAnnotation] == "" {
		t.Error("CoreDNS was not rolled for the new Corefile")
	}

	// Re-run: nothing written.
	if ok, err := coredns.Current(ctx, cs, r); err != nil || !ok {
		t.Errorf("Current after apply = %v, %v", ok, err)
	}
	changed, err = coredns.Apply(ctx, cs, r)
	if err != nil || changed {
		t.Fatalf("second Apply = %v, %v; want no change", changed, err)
	}
	cm2, d2 := get()
	if cm2.ResourceVersion != cm.ResourceVersion || d2.ResourceVersion != d.ResourceVersion {
		t.Errorf("second Apply wrote (ConfigMap %s→%s, Deployment %s→%s)", cm.ResourceVersion, cm2.ResourceVersion, d.ResourceVersion, d2.ResourceVersion)
	}

	// Down: the original Corefile, byte for byte, and the annotation gone.
	changed, err = coredns.Remove(ctx, cs)
	if err != nil || !changed {
		t.Fatalf("Remove = %v, %v", changed, err)
	}
	cm, d = get()
	if cm.Data["Corefile"] != string(orig) {
		t.Errorf("Corefile after Remove:\n%s", cm.Data["Corefile"])
	}
	if _, ok := d.Spec.Template.Annotations[coredns.RestartAnnotation]; ok {
		t.Error("restart annotation left on CoreDNS")
	}
	if changed, err = coredns.Remove(ctx, cs); err != nil || changed {
		t.Errorf("second Remove = %v, %v; want no change", changed, err)
	}
}

func TestApplyWithoutCoreDNS(t *testing.T) {
	api := testenv.SharedAPIServer(t)
	cs, err := api.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_ = cs.CoreV1().ConfigMaps("kube-system").Delete(ctx, "coredns", metav1.DeleteOptions{})
	_, err = coredns.Apply(ctx, cs, coredns.Rules{Target: "traefik.traefik.svc.cluster.local", Hosts: []string{"git.localhost"}})
	if !config.IsInput(err) || !strings.Contains(err.Error(), "no ConfigMap kube-system/coredns") {
		t.Errorf("Apply without CoreDNS = %v, want an input error", err)
	}
	if changed, err := coredns.Remove(ctx, cs); err != nil || changed {
		t.Errorf("Remove without CoreDNS = %v, %v; want nothing to do", changed, err)
	}

	// A Corefile we cannot place the block in is reported with the fix, and
	// left as it was.
	if _, err := cs.CoreV1().ConfigMaps("kube-system").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "coredns"}, Data: map[string]string{"Corefile": "example.org {\n  whoami\n}\n"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().ConfigMaps("kube-system").Delete(ctx, "coredns", metav1.DeleteOptions{}) })
	_, err = coredns.Apply(ctx, cs, coredns.Rules{Target: "traefik.traefik.svc.cluster.local", Hosts: []string{"git.localhost"}})
	if !config.IsInput(err) || !strings.Contains(err.Error(), "kubectl -n kube-system edit configmap coredns") {
		t.Errorf("Apply on an odd Corefile = %v, want an input error naming the fix", err)
	}
	if cm, _ := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{}); cm.Data["Corefile"] != "example.org {\n  whoami\n}\n" {
		t.Errorf("the odd Corefile was changed: %q", cm.Data["Corefile"])
	}
}

package testenv

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestKubeObjects stores a namespace and Secrets through client-go, built
// both from the REST config and from the kubeconfig file, and reads them back.
func TestKubeObjects(t *testing.T) {
	c := SharedAPIServer(t)
	ctx := context.Background()

	fromKubeconfig, err := clientcmd.BuildConfigFromFlags("", c.KubeconfigPath)
	if err != nil {
		t.Fatalf("load kubeconfig: %v", err)
	}
	clients := []struct {
		name string
		cs   kubernetes.Interface
	}{
		{"rest-config", kubernetes.NewForConfigOrDie(c.RESTConfig())},
		{"kubeconfig", kubernetes.NewForConfigOrDie(fromKubeconfig)},
	}
	for _, tc := range clients {
		t.Run(tc.name, func(t *testing.T) {
			ns := c.Namespace(t)
			if _, err := tc.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
				t.Fatalf("get namespace %s: %v", ns, err)
			}
			want := map[string][]byte{"username": []byte("5minadmin"), "token": []byte("s3cr3t\x00bytes")}
			secret := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "gitea-admin", Namespace: ns},
				Data:       want,
			}
			if _, err := tc.cs.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
				t.Fatalf("create secret: %v", err)
			}
			got, err := tc.cs.CoreV1().Secrets(ns).Get(ctx, "gitea-admin", metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get secret: %v", err)
			}
			if !maps.EqualFunc(got.Data, want, func(a, b []byte) bool { return string(a) == string(b) }) {
				t.Errorf("secret data = %q, want %q", got.Data, want)
			}
			// The same name in another namespace must not exist: the server
			// really scopes by namespace.
			_, err = tc.cs.CoreV1().Secrets("default").Get(ctx, "gitea-admin", metav1.GetOptions{})
			if !apierrors.IsNotFound(err) {
				t.Errorf("secret gitea-admin in default: err = %v, want NotFound", err)
			}
		})
	}
}

// TestKubeVersion checks the API server reports its real version: Helm's
// kubeVersion constraints misbehave against an unstamped v0.0.0 build.
func TestKubeVersion(t *testing.T) {
	c := SharedAPIServer(t)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	if !strings.HasPrefix(v.GitVersion, "v1.") || v.GitVersion == "v0.0.0" || v.Major != "1" {
		t.Errorf("server version = %q (major %q), want a stamped v1.x", v.GitVersion, v.Major)
	}
	t.Logf("API server version %s", v.GitVersion)
}

// TestKubeAuth checks that the server authenticates: a wrong token is
// refused, so the other tests' successes mean the admin token works.
func TestKubeAuth(t *testing.T) {
	c := SharedAPIServer(t)
	cfg := c.RESTConfig()
	cfg.BearerToken = "not-" + c.Token
	cs := kubernetes.NewForConfigOrDie(cfg)
	_, err := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Errorf("list namespaces with a wrong token: err = %v, want Unauthorized", err)
	}
}

// TestAPIServerStop starts a private cluster and checks Stop really stops
// both servers.
func TestAPIServerStop(t *testing.T) {
	c := APIServer(t)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "default", metav1.GetOptions{}); err != nil {
		t.Fatalf("get namespace default: %v", err)
	}
	began := time.Now()
	if err := c.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	t.Logf("stopped in %s", time.Since(began).Round(time.Millisecond))
	if !c.proc.exited() || !c.etcd.proc.exited() {
		t.Errorf("after Stop: kube-apiserver exited %v, etcd exited %v; want both", c.proc.exited(), c.etcd.proc.exited())
	}
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "default", metav1.GetOptions{}); err == nil {
		t.Error("API server still answers after Stop")
	}
}

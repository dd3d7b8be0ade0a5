package testenv

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// namespaceGoneWithin bounds how long a deleted namespace may take to go:
// it takes tens of milliseconds, but the shared server's cores are shared.
const namespaceGoneWithin = 30 * time.Second

// TestNamespaceDeletionFinishes deletes a namespace holding a ConfigMap, a
// Secret and a Role (a resource of another API group), waits for it to go
// and creates it again under the same name: empty.
func TestNamespaceDeletionFinishes(t *testing.T) {
	c := SharedAPIServer(t)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	name := UniqueName(t)
	createNamespace(t, cs, name)
	if _, err := cs.CoreV1().ConfigMaps(name).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "settings"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(name).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "token"}, StringData: map[string]string{"token": "s3cr3t"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().Roles(name).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "reader"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	if err := cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNamespaceGone(t, cs, name)
	t.Logf("namespace gone %s after the delete", time.Since(began).Round(time.Millisecond))

	// The name is free again, and nothing of the old namespace came back.
	createNamespace(t, cs, name)
	cms, err := cs.CoreV1().ConfigMaps(name).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := cs.CoreV1().Secrets(name).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	roles, err := cs.RbacV1().Roles(name).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cms.Items) + len(secrets.Items) + len(roles.Items); n != 0 {
		t.Errorf("recreated namespace holds %d old objects: %v %v %v", n, cms.Items, secrets.Items, roles.Items)
	}
}

// TestNamespaceWaitsForFinalizers checks the namespace is finalized only
// once its content is gone: a ConfigMap held by a finalizer keeps it
// Terminating until the finalizer is removed.
func TestNamespaceWaitsForFinalizers(t *testing.T) {
	c := SharedAPIServer(t)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	name := UniqueName(t)
	createNamespace(t, cs, name)
	const hold = "testenv.pocketidp.test/hold"
	if _, err := cs.CoreV1().ConfigMaps(name).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{hold}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	// Once the controller has deleted the ConfigMap (it is marked, the
	// finalizer holds it), the namespace must still be there, unfinalized.
	Eventually(t, namespaceGoneWithin, func() error {
		cm, err := cs.CoreV1().ConfigMaps(name).Get(ctx, "held", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cm.DeletionTimestamp == nil {
			return fmt.Errorf("ConfigMap held not deleted yet")
		}
		return nil
	})
	ns, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("namespace gone while a ConfigMap in it is still held: %v", err)
	}
	if !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		t.Errorf("namespace finalized while a ConfigMap in it is still held: finalizers %v", ns.Spec.Finalizers)
	}

	// Releasing the ConfigMap lets the namespace go.
	patch := []byte(`{"metadata":{"finalizers":null}}`)
	if _, err := cs.CoreV1().ConfigMaps(name).Patch(ctx, "held", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNamespaceGone(t, cs, name)
}

// TestNamespaceControllerStopsWithCluster checks a private cluster's
// controller empties namespaces too and that Stop ends it.
func TestNamespaceControllerStopsWithCluster(t *testing.T) {
	c := APIServer(t)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	name := UniqueName(t)
	createNamespace(t, cs, name)
	if err := cs.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNamespaceGone(t, cs, name)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	// stop waited for every goroutine: the queue is shut down for good.
	if !c.namespaces.queue.ShuttingDown() {
		t.Error("namespace controller's queue still open after Stop")
	}
}

func createNamespace(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

func waitNamespaceGone(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	Eventually(t, namespaceGoneWithin, func() error {
		ns, err := cs.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("namespace %s still there (phase %s, finalizers %v)", name, ns.Status.Phase, ns.Spec.Finalizers)
	})
}

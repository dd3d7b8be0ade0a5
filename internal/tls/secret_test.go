package tls_test

import (
	"context"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pocketidp/pocketidp/internal/testenv"
	pkitls "github.com/pocketidp/pocketidp/internal/tls"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestSecretLifecycle(t *testing.T) {
	api := testenv.SharedAPIServer(t)
	cs, err := api.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ref := pkitls.SecretRef{Namespace: testenv.UniqueName(t), Name: "pocketidp-tls"}
	store := &pkitls.Store{Dir: filepath.Join(t.TempDir(), "tls")}
	hosts, _ := pkitls.Hosts("5min-idp")
	ca, leaf, _, err := store.Ensure(hosts)
	if err != nil {
		t.Fatal(err)
	}

	if ok, err := pkitls.SecretCurrent(ctx, cs, ref, leaf, ca.CertPEM); err != nil || ok {
		t.Fatalf("SecretCurrent before apply = %v, %v", ok, err)
	}
	res, err := pkitls.ApplySecret(ctx, cs, ref, leaf, ca.CertPEM)
	if err != nil || !res.CreatedNamespace || !res.Changed {
		t.Fatalf("first apply = %+v, %v; want namespace and Secret created", res, err)
	}
	s, err := cs.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Type != corev1.SecretTypeTLS || string(s.Data["tls.crt"]) != string(leaf.CertPEM) ||
		string(s.Data["tls.key"]) != string(leaf.KeyPEM()) || string(s.Data["ca.crt"]) != string(ca.CertPEM) {
		t.Errorf("Secret holds type %s and keys %v, not the leaf, key and CA", s.Type, keys(s.Data))
	}
	ns, _ := cs.CoreV1().Namespaces().Get(ctx, ref.Namespace, metav1.GetOptions{})
	if ns.Labels[pkitls.ManagedByLabel] != pkitls.ManagedBy {
		t.Errorf("namespace made without the managed-by label: %v", ns.Labels)
	}

	// The same leaf again writes nothing.
	res, err = pkitls.ApplySecret(ctx, cs, ref, leaf, ca.CertPEM)
	if err != nil || res.Changed || res.CreatedNamespace {
		t.Fatalf("re-apply = %+v, %v; want no change", res, err)
	}
	s2, _ := cs.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if s2.ResourceVersion != s.ResourceVersion {
		t.Errorf("re-apply wrote the Secret (resourceVersion %s → %s)", s.ResourceVersion, s2.ResourceVersion)
	}
	if ok, err := pkitls.SecretCurrent(ctx, cs, ref, leaf, ca.CertPEM); err != nil || !ok {
		t.Errorf("SecretCurrent after apply = %v, %v", ok, err)
	}

	// A renewed leaf updates it.
	more, _ := pkitls.Hosts("5min-idp", "app.localhost")
	_, leaf2, _, err := store.Ensure(more)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := pkitls.SecretCurrent(ctx, cs, ref, leaf2, ca.CertPEM); ok {
		t.Error("SecretCurrent accepts the old leaf for a renewed one")
	}
	if res, err = pkitls.ApplySecret(ctx, cs, ref, leaf2, ca.CertPEM); err != nil || !res.Changed {
		t.Fatalf("apply renewed leaf = %+v, %v", res, err)
	}

	// Down: the Secret goes, and the namespace this package made.
	if err := pkitls.DeleteSecret(ctx, cs, ref, true); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{}); err == nil {
		t.Error("Secret still there after DeleteSecret")
	}
	ns, err = cs.CoreV1().Namespaces().Get(ctx, ref.Namespace, metav1.GetOptions{})
	if err == nil && ns.DeletionTimestamp == nil {
		t.Error("our namespace was not deleted")
	}
	if err := pkitls.DeleteSecret(ctx, cs, ref, true); err != nil {
		t.Errorf("second DeleteSecret = %v, want success", err)
	}
}

// A namespace the user had is used, and never deleted.
func TestSecretInUsersNamespace(t *testing.T) {
	api := testenv.SharedAPIServer(t)
	cs, err := api.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ref := pkitls.SecretRef{Namespace: api.Namespace(t), Name: "pocketidp-tls"}
	store := &pkitls.Store{Dir: t.TempDir()}
	hosts, _ := pkitls.Hosts("5min-idp")
	ca, leaf, _, err := store.Ensure(hosts)
	if err != nil {
		t.Fatal(err)
	}
	// A Secret of the wrong type under our name is replaced.
	if _, err := cs.CoreV1().Secrets(ref.Namespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: ref.Name}, StringData: map[string]string{"x": "y"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := pkitls.ApplySecret(ctx, cs, ref, leaf, ca.CertPEM)
	if err != nil || res.CreatedNamespace || !res.Changed {
		t.Fatalf("apply = %+v, %v", res, err)
	}
	if ok, _ := pkitls.SecretCurrent(ctx, cs, ref, leaf, ca.CertPEM); !ok {
		t.Error("Secret of the wrong type was not replaced")
	}
	if err := pkitls.DeleteSecret(ctx, cs, ref, true); err != nil {
		t.Fatal(err)
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, ref.Namespace, metav1.GetOptions{})
	if err != nil || ns.DeletionTimestamp != nil {
		t.Errorf("the user's namespace was deleted: %v", err)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

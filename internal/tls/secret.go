package tls

import (
	"bytes"
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pocketidp/pocketidp/internal/cluster"
	"github.com/pocketidp/pocketidp/internal/config"
)

// Labels on what this package creates in the cluster, so `down` can tell
// its own namespace from one the user had.
const (
	ManagedByLabel = config.ManagedByLabel
	ManagedBy      = config.ManagedBy
)

// SecretRef names the TLS Secret.
type SecretRef struct{ Namespace, Name string }

func (r SecretRef) String() string { return r.Namespace + "/" + r.Name }

// secretData is what the Secret holds: the leaf and its key for the
// ingress, and the CA for anything in the cluster that must trust it.
func secretData(leaf *Leaf, caPEM []byte) map[string][]byte {
	return map[string][]byte{
		corev1.TLSCertKey:       leaf.CertPEM,
		corev1.TLSPrivateKeyKey: leaf.KeyPEM(),
		"ca.crt":                caPEM,
	}
}

// SecretCurrent reports whether the Secret exists and holds exactly leaf
// and the CA.
func SecretCurrent(ctx context.Context, cs kubernetes.Interface, ref SecretRef, leaf *Leaf, caPEM []byte) (bool, error) {
	s, err := cs.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read Secret %s: %w", ref, err)
	}
	return s.Type == corev1.SecretTypeTLS && sameData(s.Data, secretData(leaf, caPEM)), nil
}

func sameData(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

// ApplyResult says what ApplySecret changed.
type ApplyResult struct {
	// CreatedNamespace is true when the namespace did not exist and was
	// made (labelled managed-by pocketidp): `down` may delete it.
	CreatedNamespace bool
	// Changed is false when the Secret already held these bytes.
	Changed bool
}

// ApplySecret makes the kubernetes.io/tls Secret hold leaf, its key and the
// CA, creating the namespace when missing. Applying the same leaf again
// writes nothing. A namespace still terminating is waited for, bounded by
// ctx, without a word: this package has no logger to tell it to.
func ApplySecret(ctx context.Context, cs kubernetes.Interface, ref SecretRef, leaf *Leaf, caPEM []byte) (ApplyResult, error) {
	var res ApplyResult
	created, err := cluster.EnsureNamespace(ctx, cs, ref.Namespace, map[string]string{ManagedByLabel: ManagedBy}, nil)
	if err != nil {
		return res, err
	}
	res.CreatedNamespace = created

	want := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: ref.Name, Namespace: ref.Namespace, Labels: map[string]string{ManagedByLabel: ManagedBy}},
		Type:       corev1.SecretTypeTLS,
		Data:       secretData(leaf, caPEM),
	}
	secrets := cs.CoreV1().Secrets(ref.Namespace)
	cur, err := secrets.Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if _, err := secrets.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			return res, fmt.Errorf("create Secret %s: %w", ref, err)
		}
		res.Changed = true
		return res, nil
	case err != nil:
		return res, fmt.Errorf("read Secret %s: %w", ref, err)
	case cur.Type != corev1.SecretTypeTLS:
		// The type of a Secret cannot change; ours by name, so replace it.
		if err := secrets.Delete(ctx, ref.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return res, fmt.Errorf("replace Secret %s of type %s: %w", ref, cur.Type, err)
		}
		if _, err := secrets.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			return res, fmt.Errorf("create Secret %s: %w", ref, err)
		}
		res.Changed = true
		return res, nil
	case sameData(cur.Data, want.Data) && cur.Labels[ManagedByLabel] == ManagedBy:
		return res, nil
	}
	cur.Data = want.Data
	if cur.Labels == nil {
		cur.Labels = map[string]string{}
	}
	cur.Labels[ManagedByLabel] = ManagedBy
	if _, err := secrets.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		return res, fmt.Errorf("update Secret %s: %w", ref, err)
	}
	res.Changed = true
	return res, nil
}

// DeleteSecret deletes the Secret, and the namespace too when
// deleteNamespace is set and the namespace carries our label. Already gone
// is success.
func DeleteSecret(ctx context.Context, cs kubernetes.Interface, ref SecretRef, deleteNamespace bool) error {
	if err := cs.CoreV1().Secrets(ref.Namespace).Delete(ctx, ref.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete Secret %s: %w", ref, err)
	}
	if !deleteNamespace {
		return nil
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, ref.Namespace, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("read namespace %s: %w", ref.Namespace, err)
	case ns.Labels[ManagedByLabel] != ManagedBy:
		return nil // the user's own: never deleted
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, ref.Namespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s: %w", ref.Namespace, err)
	}
	return nil
}

package orchestrator

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Names and labels of the objects a KubeStore keeps the state in.
const (
	stateObjectPrefix = "pocketidp-orchestrator-"
	stateDataKey      = "state.json"
	labelManagedBy    = "app.kubernetes.io/managed-by"
	labelComponent    = "app.kubernetes.io/component"
	managedBy         = "pocketidp"
	stateComponent    = "orchestrator-state"
)

// maxObjectData is what one ConfigMap or Secret may hold (etcd's 1 MiB,
// less room for the object's metadata).
const maxObjectData = 1000 * 1024

// KubeStore keeps each collection in one object of a namespace: a Secret
// for the collections that hold secrets, a ConfigMap for the others. The
// state then survives the orchestrator's restarts and lives as long as the
// cluster.
type KubeStore struct {
	cs        kubernetes.Interface
	namespace string
}

// NewKubeStore returns a store in namespace, which must exist.
func NewKubeStore(cs kubernetes.Interface, namespace string) *KubeStore {
	return &KubeStore{cs: cs, namespace: namespace}
}

func objectName(coll string) string { return stateObjectPrefix + coll }

func stateLabels() map[string]string {
	return map[string]string{labelManagedBy: managedBy, labelComponent: stateComponent}
}

// Load implements Store.
func (k *KubeStore) Load(ctx context.Context, name string) ([]byte, error) {
	if IsSecretCollection(name) {
		s, err := k.cs.CoreV1().Secrets(k.namespace).Get(ctx, objectName(name), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, k.wrap("read", "Secret", name, err)
		}
		return s.Data[stateDataKey], nil
	}
	cm, err := k.cs.CoreV1().ConfigMaps(k.namespace).Get(ctx, objectName(name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, k.wrap("read", "ConfigMap", name, err)
	}
	return []byte(cm.Data[stateDataKey]), nil
}

// Save implements Store.
func (k *KubeStore) Save(ctx context.Context, name string, data []byte) error {
	if len(data) > maxObjectData {
		return fmt.Errorf("the orchestrator's %s take %d bytes, more than one Kubernetes object holds (%d): delete old deployments' environments or apps", name, len(data), maxObjectData)
	}
	meta := metav1.ObjectMeta{Name: objectName(name), Namespace: k.namespace, Labels: stateLabels()}
	if IsSecretCollection(name) {
		s := &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{stateDataKey: data}}
		_, err := k.cs.CoreV1().Secrets(k.namespace).Update(ctx, s, metav1.UpdateOptions{})
		if apierrors.IsNotFound(err) {
			_, err = k.cs.CoreV1().Secrets(k.namespace).Create(ctx, s, metav1.CreateOptions{})
		}
		return k.wrap("save", "Secret", name, err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{stateDataKey: string(data)}}
	_, err := k.cs.CoreV1().ConfigMaps(k.namespace).Update(ctx, cm, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		_, err = k.cs.CoreV1().ConfigMaps(k.namespace).Create(ctx, cm, metav1.CreateOptions{})
	}
	return k.wrap("save", "ConfigMap", name, err)
}

func (k *KubeStore) wrap(verb, kind, coll string, err error) error {
	if err == nil {
		return nil
	}
	fix := ""
	if apierrors.IsForbidden(err) {
		fix = fmt.Sprintf(": the orchestrator's service account needs get, create and update on %ss in namespace %s", kind, k.namespace)
	}
	return fmt.Errorf("%s %s %s/%s: %w%s", verb, kind, k.namespace, objectName(coll), err, fix)
}

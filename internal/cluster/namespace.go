package cluster

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// EnsureNamespace makes the namespace, with labels, unless it exists, and
// reports whether it made it. A namespace still being deleted is waited
// for first: the API server refuses new content in it, and on an existing
// cluster an `up` right after `down` finds the namespaces `down` deleted
// still terminating while their pods stop. ctx bounds the wait.
//
// waiting, when not nil, is called once, when such a wait starts, with a
// line saying which namespace is waited for and since when (the wait can
// last minutes, and should not look like a hang). Nil waits silently.
func EnsureNamespace(ctx context.Context, cs kubernetes.Interface, name string, labels map[string]string, waiting func(msg string)) (bool, error) {
	namespaces := cs.CoreV1().Namespaces()
	var last *corev1.Namespace // the last terminating namespace seen
	told := false
	for {
		exists := false
		err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			ns, err := namespaces.Get(ctx, name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				return true, nil
			case err != nil:
				return false, fmt.Errorf("read namespace %s: %w", name, err)
			case ns.DeletionTimestamp == nil:
				exists = true
				return true, nil
			}
			last = ns
			if !told && waiting != nil {
				told = true
				waiting(fmt.Sprintf("namespace %s is still terminating (since %s); waiting for it to go",
					name, ns.DeletionTimestamp.Format(time.RFC3339)))
			}
			return false, nil
		})
		if err != nil {
			// Waiting on a terminating namespace, whatever ended the wait
			// (the deadline, or a read cut short by it) the cause is the
			// same.
			if last != nil {
				return false, fmt.Errorf("namespace %s is still being deleted (since %s), so nothing can be made in it: see what holds it with `kubectl get namespace %s -o yaml`, and run up again when it is gone: %w",
					name, last.DeletionTimestamp.Format(time.RFC3339), name, err)
			}
			return false, err
		}
		if exists {
			return false, nil
		}
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
		_, err = namespaces.Create(ctx, ns, metav1.CreateOptions{})
		switch {
		case err == nil:
			return true, nil
		case !apierrors.IsAlreadyExists(err):
			return false, fmt.Errorf("create namespace %s: %w", name, err)
		}
		// It exists since the read: someone else made it (then it is
		// theirs, and the next read says so), or it was there and began
		// terminating in between (then the next read waits it out, bounded
		// by ctx, and makes it again).
	}
}

package cluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pocketidp/pocketidp/internal/cluster"
	"github.com/pocketidp/pocketidp/internal/testenv"
)

// TestEnsureNamespace runs against the real API server (with the test
// bed's namespace controller): a namespace being deleted is waited for,
// then made again, as `up` right after `down` needs.
func TestEnsureNamespace(t *testing.T) {
	api := testenv.SharedAPIServer(t)
	cs, err := api.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app.kubernetes.io/managed-by": "pocketidp"}
	const hold = "pocketidp.test/hold"

	// terminating leaves a namespace being deleted, held by a finalizer on
	// a ConfigMap in it (as pods that take time to stop hold it), and
	// returns what lets it go.
	terminating := func(t *testing.T, name string) (release func()) {
		t.Helper()
		ctx := context.Background()
		if _, err := cluster.EnsureNamespace(ctx, cs, name, labels); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.CoreV1().ConfigMaps(name).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{hold}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		return func() {
			_, err := cs.CoreV1().ConfigMaps(name).Patch(context.Background(), "held", types.MergePatchType,
				[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
			if err != nil {
				t.Error(err)
			}
		}
	}

	for _, tt := range []struct {
		name        string
		setup       func(t *testing.T, ns string) (release func())
		releaseIn   time.Duration // 0: never
		deadline    time.Duration
		wantCreated bool
		wantErr     string
	}{
		{name: "absent", wantCreated: true},
		{name: "exists", setup: func(t *testing.T, ns string) func() {
			if _, err := cluster.EnsureNamespace(context.Background(), cs, ns, nil); err != nil {
				t.Fatal(err)
			}
			return nil
		}},
		{name: "terminating, then gone", setup: terminating, releaseIn: time.Second, wantCreated: true},
		{name: "terminating past the deadline", setup: terminating, deadline: 1500 * time.Millisecond, wantErr: "is still being deleted"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ns := testenv.UniqueName(t)
			var release func()
			if tt.setup != nil {
				release = tt.setup(t, ns)
			}
			if release != nil {
				if tt.releaseIn > 0 {
					time.AfterFunc(tt.releaseIn, release)
				} else {
					t.Cleanup(release)
				}
			}
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			created, err := cluster.EnsureNamespace(ctx, cs, ns, labels)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if created != tt.wantCreated {
				t.Errorf("created = %t, want %t", created, tt.wantCreated)
			}
			got, err := cs.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{})
			if err != nil || got.DeletionTimestamp != nil {
				t.Fatalf("namespace after: %v, %v", got, err)
			}
			if tt.wantCreated && got.Labels["app.kubernetes.io/managed-by"] != "pocketidp" {
				t.Errorf("labels %v", got.Labels)
			}
		})
	}
}

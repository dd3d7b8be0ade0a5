package cluster_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/pocketidp/pocketidp/internal/cluster"
	"github.com/pocketidp/pocketidp/internal/testenv"
)

// TestEnsureNamespace runs against the real API server (with the test
// bed's namespace controller): a namespace being deleted is waited for,
// with one line saying so, then made again, as `up` right after `down`
// needs; so is one that begins terminating between the read and the
// create.
func TestEnsureNamespace(t *testing.T) {
	api := testenv.SharedAPIServer(t)
	cs, err := api.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app.kubernetes.io/managed-by": "pocketidp"}
	const hold = "pocketidp.test/hold"

	// terminate leaves the namespace being deleted, held by a finalizer on
	// a ConfigMap in it (as pods that take time to stop hold it), and
	// returns what lets it go.
	terminate := func(name string) (release func() error, err error) {
		ctx := context.Background()
		if _, err := cluster.EnsureNamespace(ctx, cs, name, labels, nil); err != nil {
			return nil, err
		}
		if _, err := cs.CoreV1().ConfigMaps(name).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{hold}}}, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
		if err := cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			return nil, err
		}
		return func() error {
			_, err := cs.CoreV1().ConfigMaps(name).Patch(context.Background(), "held", types.MergePatchType,
				[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
			return err
		}, nil
	}

	for _, tt := range []struct {
		name string
		// terminating: the namespace is being deleted before the call;
		// racing: it is absent at the read and begins terminating just
		// before EnsureNamespace's first create reaches the API server.
		terminating, racing bool
		exists              bool
		releaseIn           time.Duration // 0: never
		deadline            time.Duration // 0: 30 s, so a broken controller fails rather than hangs
		wantCreated         bool
		wantWaiting         bool // one "still terminating" line is reported
		wantErr             string
	}{
		{name: "absent", wantCreated: true},
		{name: "exists", exists: true},
		{name: "terminating, then gone", terminating: true, releaseIn: time.Second, wantCreated: true, wantWaiting: true},
		{name: "terminating past the deadline", terminating: true, deadline: 1500 * time.Millisecond,
			wantWaiting: true, wantErr: "is still being deleted"},
		{name: "terminating between read and create, then gone", racing: true, releaseIn: time.Second,
			wantCreated: true, wantWaiting: true},
		{name: "terminating between read and create past the deadline", racing: true, deadline: 1500 * time.Millisecond,
			wantWaiting: true, wantErr: "is still being deleted"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ns := testenv.UniqueName(t)

			// hold makes the namespace terminate and arranges its release:
			// after releaseIn, or else when the test ends. The timer's
			// outcome is reported through a channel and checked in
			// t.Cleanup, never with t.Error from the timer after the test.
			var mu sync.Mutex
			var holdErr error
			hold := func() error {
				release, err := terminate(ns)
				if err != nil {
					return err
				}
				if tt.releaseIn == 0 {
					t.Cleanup(func() {
						if err := release(); err != nil {
							t.Error(err)
						}
					})
					return nil
				}
				released := make(chan error, 1)
				timer := time.AfterFunc(tt.releaseIn, func() { released <- release() })
				t.Cleanup(func() {
					if timer.Stop() {
						released <- release() // the call ended first: let go now
					}
					if err := <-released; err != nil {
						t.Errorf("release namespace %s: %v", ns, err)
					}
				})
				return nil
			}

			client := kubernetes.Interface(cs)
			switch {
			case tt.exists:
				if _, err := cluster.EnsureNamespace(context.Background(), cs, ns, nil, nil); err != nil {
					t.Fatal(err)
				}
			case tt.terminating:
				if err := hold(); err != nil {
					t.Fatal(err)
				}
			case tt.racing:
				// The first create of this namespace is held back until
				// the namespace exists and is terminating: the API server
				// then answers AlreadyExists.
				var once sync.Once
				cfg := api.RESTConfig()
				cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
					return roundTripFunc(func(req *http.Request) (*http.Response, error) {
						if req.Method == http.MethodPost && req.URL.Path == "/api/v1/namespaces" {
							once.Do(func() {
								mu.Lock()
								defer mu.Unlock()
								holdErr = hold()
							})
						}
						return rt.RoundTrip(req)
					})
				})
				if client, err = kubernetes.NewForConfig(cfg); err != nil {
					t.Fatal(err)
				}
			}

			deadline := tt.deadline
			if deadline == 0 {
				deadline = 30 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			var waiting []string
			created, err := cluster.EnsureNamespace(ctx, client, ns, labels, func(msg string) { waiting = append(waiting, msg) })
			mu.Lock()
			if holdErr != nil {
				t.Fatalf("make namespace %s terminate before the create: %v", ns, holdErr)
			}
			mu.Unlock()

			switch {
			case !tt.wantWaiting && len(waiting) != 0:
				t.Errorf("reported %q, want no wait", waiting)
			case tt.wantWaiting && (len(waiting) != 1 ||
				!strings.Contains(waiting[0], "namespace "+ns+" is still terminating (since ") ||
				!strings.Contains(waiting[0], "waiting for it to go")):
				t.Errorf("reported %q, want one line saying namespace %s is still terminating", waiting, ns)
			}
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

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

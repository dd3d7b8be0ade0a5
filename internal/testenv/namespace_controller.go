package testenv

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// The API server runs no kube-controller-manager, and the "kubernetes"
// finalizer of a deleted namespace is the namespace controller's to remove:
// without it a namespace stays Terminating for ever and its name can never
// be used again (PocketIDP's `up` after `down` needs exactly that).
// namespaceController is a small stand-in for that controller. Like the real
// one it waits for a namespace to be deleted, deletes everything namespaced
// inside it, and only once nothing is left removes the finalizer through the
// namespaces/finalize subresource, after which the API server removes the
// namespace itself.
//
// Every Cluster runs one, from StartAPIServer until Stop, rather than tests
// opting in: it only acts on namespaces already being deleted, which is
// what a real cluster does, so no test can rely on it not running, and a
// test that forgot to opt in would hang on a Terminating namespace instead of
// failing clearly. Its actions and errors go to namespace-controller.log in
// the cluster's folder, not to the test's output.
//
// Differences from the real controller, deliberate for a bed where nothing
// else runs: content is deleted with a grace period of 0 (no kubelet would
// ever confirm a pod's graceful end) and background propagation (no garbage
// collector would remove a foreground or orphan finalizer; the dependents are
// in the namespace and deleted anyway). Finalizers on the content are left
// alone, as the real controller leaves them: an object holding one keeps its
// namespace Terminating until the finalizer is removed. The namespace's
// conditions (NamespaceDeletionContentFailure and so on) are not written.

// namespaceWorkers namespaces are emptied at once: `down` deletes several.
const namespaceWorkers = 4

// resourceWorkers resources of one namespace are emptied at once.
const resourceWorkers = 8

type namespaceController struct {
	cs      kubernetes.Interface
	dyn     dynamic.Interface
	disc    discovery.DiscoveryInterface
	queue   workqueue.TypedRateLimitingInterface[string]
	log     *log.Logger
	logFile *os.File

	cancel  context.CancelFunc
	workers sync.WaitGroup
}

// deletableResource is a namespaced resource the controller empties.
type deletableResource struct {
	gvr        schema.GroupVersionResource
	collection bool // supports deletecollection
}

// startNamespaceController starts the stand-in on the cluster cfg points at
// and returns once it has listed the namespaces, so a namespace deleted after
// the call is always seen. Stop it with stop.
func startNamespaceController(ctx context.Context, cfg *rest.Config, logPath string, timeout time.Duration) (_ *namespaceController, err error) {
	cfg = rest.CopyConfig(cfg)
	// Emptying a namespace is a few requests per resource type; client-side
	// throttling would only add waiting (a negative QPS disables it).
	cfg.QPS = -1
	cfg.UserAgent = "testenv-namespace-controller"
	// Listing every type includes deprecated ones (v1 Endpoints): no news.
	cfg.WarningHandlerWithContext = rest.NoWarnings{}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("namespace controller: open log: %w", err)
	}
	nc := &namespaceController{
		log:     log.New(logFile, "", log.LstdFlags|log.Lmicroseconds),
		logFile: logFile,
		// Retries (content still held by a finalizer, a failed request)
		// back off from 10 ms to 1 s: quick for tests, gentle if stuck.
		queue: workqueue.NewTypedRateLimitingQueue(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](10*time.Millisecond, time.Second)),
	}
	defer func() {
		if err != nil {
			nc.queue.ShutDown()
			logFile.Close()
		}
	}()
	if nc.cs, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("namespace controller: %w", err)
	}
	if nc.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("namespace controller: %w", err)
	}
	if nc.disc, err = discovery.NewDiscoveryClientForConfig(cfg); err != nil {
		return nil, fmt.Errorf("namespace controller: %w", err)
	}

	// client-go logs (the informer's watch errors, say) go to the log file
	// too, through the context's logger, not to klog's stderr.
	logger := funcr.New(func(prefix, args string) { nc.log.Println("client-go:", prefix, args) }, funcr.Options{})
	runCtx, cancel := context.WithCancel(klog.NewContext(context.Background(), logger))
	nc.cancel = cancel
	namespaces := nc.cs.CoreV1().Namespaces()
	_, informer := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
				return namespaces.List(ctx, opts)
			},
			WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
				return namespaces.Watch(ctx, opts)
			},
		},
		ObjectType: &corev1.Namespace{},
		Logger:     &logger,
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    nc.enqueue,
			UpdateFunc: func(_, obj any) { nc.enqueue(obj) },
		},
	})
	nc.workers.Go(func() { informer.RunWithContext(runCtx) })
	for range namespaceWorkers {
		nc.workers.Go(func() {
			for nc.next(runCtx) {
			}
		})
	}

	wait, cancelWait := context.WithTimeout(ctx, timeout)
	defer cancelWait()
	select {
	case <-informer.HasSyncedChecker().Done():
	case <-wait.Done():
		nc.stop()
		return nil, fmt.Errorf("namespace controller: namespaces not listed after %s: %w", timeout, wait.Err())
	}
	nc.log.Print("started")
	return nc, nil
}

// stop ends the controller and waits for its goroutines. Namespaces being
// emptied stay Terminating. Calling stop again does nothing.
func (nc *namespaceController) stop() {
	if nc == nil {
		return
	}
	nc.cancel()
	nc.queue.ShutDown()
	nc.workers.Wait()
	if nc.logFile != nil {
		nc.log.Print("stopped")
		nc.logFile.Close()
		nc.logFile = nil
	}
}

func (nc *namespaceController) enqueue(obj any) {
	if ns, ok := obj.(*corev1.Namespace); ok && ns.DeletionTimestamp != nil {
		nc.queue.Add(ns.Name)
	}
}

// next handles one namespace from the queue; false once the queue is shut
// down.
func (nc *namespaceController) next(ctx context.Context) bool {
	name, quit := nc.queue.Get()
	if quit {
		return false
	}
	defer nc.queue.Done(name)
	retry, err := nc.sync(ctx, name)
	switch {
	case ctx.Err() != nil:
		nc.queue.Forget(name)
	case err != nil:
		nc.log.Printf("namespace %s: %v (retrying)", name, err)
		nc.queue.AddRateLimited(name)
	case retry:
		nc.queue.AddRateLimited(name)
	default:
		nc.queue.Forget(name)
	}
	return true
}

// sync empties and finalizes a namespace being deleted; retry asks to be
// called again because content is still there.
func (nc *namespaceController) sync(ctx context.Context, name string) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ns, err := nc.cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if ns.DeletionTimestamp == nil || !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		return false, nil // not being deleted, or already finalized
	}
	left, err := nc.deleteContent(ctx, name)
	if err != nil {
		return false, err
	}
	if len(left) > 0 {
		nc.log.Printf("namespace %s: waiting for %s to go", name, strings.Join(left, ", "))
		return true, nil
	}
	ns.Spec.Finalizers = slices.DeleteFunc(ns.Spec.Finalizers, func(f corev1.FinalizerName) bool {
		return f == corev1.FinalizerKubernetes
	})
	// A conflict (the namespace changed since the Get) is retried.
	if _, err := nc.cs.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("finalize: %w", err)
	}
	nc.log.Printf("namespace %s: empty, finalized", name)
	return false, nil
}

// deleteContent deletes every object of every namespaced resource type that
// supports list and delete, and returns what is left (objects held by
// finalizers), as "N resource" strings.
func (nc *namespaceController) deleteContent(ctx context.Context, ns string) ([]string, error) {
	resources, discoveryErr := nc.resources(ctx)
	if discoveryErr != nil && resources == nil {
		return nil, discoveryErr
	}
	var (
		mu   sync.Mutex
		left []string
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, resourceWorkers)
	)
	for _, r := range resources {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			n, err := nc.deleteResource(ctx, ns, r)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if n > 0 {
				left = append(left, fmt.Sprintf("%d %s", n, r.gvr.GroupResource()))
			}
		})
	}
	wg.Wait()
	// As the real controller: a resource group that could not be discovered
	// (an aggregated API that is down) may hold content, so no finalizing.
	if discoveryErr != nil {
		errs = append(errs, discoveryErr)
	}
	slices.Sort(left)
	return left, errors.Join(errs...)
}

// resources discovers the namespaced resources that support list and delete,
// at each group's preferred version. Custom resources are included: the
// discovery runs for every namespace, so types added since are found. On a
// partial discovery failure it returns what was found and the error.
func (nc *namespaceController) resources(ctx context.Context) ([]deletableResource, error) {
	lists, err := discovery.ServerPreferredNamespacedResourcesWithContext(ctx, discovery.ToDiscoveryInterfaceWithContext(nc.disc))
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, fmt.Errorf("discover resources: %w", err)
	}
	var out []deletableResource
	for _, l := range discovery.FilteredBy(discovery.SupportsAllVerbs{Verbs: []string{"list", "delete"}}, lists) {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			continue
		}
		for _, r := range l.APIResources {
			out = append(out, deletableResource{gvr: gv.WithResource(r.Name), collection: slices.Contains(r.Verbs, "deletecollection")})
		}
	}
	if err != nil {
		return out, fmt.Errorf("discover resources: %w", err)
	}
	return out, nil
}

// deleteResource deletes the resource's objects in ns, with deletecollection
// where supported, and returns how many are still there.
func (nc *namespaceController) deleteResource(ctx context.Context, ns string, r deletableResource) (int, error) {
	client := nc.dyn.Resource(r.gvr).Namespace(ns)
	background := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &background, GracePeriodSeconds: new(int64)}
	gone := func(err error) bool {
		// The type went away (a CRD deleted meanwhile) or the verb turned
		// out to be refused: nothing of this type to wait for.
		return err == nil || apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err)
	}
	if r.collection {
		if err := client.DeleteCollection(ctx, opts, metav1.ListOptions{}); !gone(err) {
			return 0, fmt.Errorf("delete %s: %w", r.gvr.GroupResource(), err)
		}
	} else {
		list, err := client.List(ctx, metav1.ListOptions{})
		if !gone(err) {
			return 0, fmt.Errorf("list %s: %w", r.gvr.GroupResource(), err)
		}
		if list != nil {
			for _, item := range list.Items {
				if item.GetDeletionTimestamp() != nil {
					continue // already going; only its finalizers hold it
				}
				if err := client.Delete(ctx, item.GetName(), opts); !gone(err) {
					return 0, fmt.Errorf("delete %s %s: %w", r.gvr.GroupResource(), item.GetName(), err)
				}
			}
		}
	}
	list, err := client.List(ctx, metav1.ListOptions{})
	if err != nil {
		if gone(err) {
			return 0, nil
		}
		return 0, fmt.Errorf("list %s: %w", r.gvr.GroupResource(), err)
	}
	return len(list.Items), nil
}

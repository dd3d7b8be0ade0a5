package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
)

// The orchestrator's own objects are applied as the "environment"
// pocketidp/orchestrator, so the engine's labels, pruning and teardown
// cover them too.
const (
	selfApp = "pocketidp"
	selfEnv = "orchestrator"
)

// installPoll is how often Install looks at the orchestrator's readiness.
const installPoll = time.Second

// Install applies the orchestrator's objects (InstallObjects) to the
// cluster: the Service first, so that its cluster IP can be given to the
// Deployment as api.humanitec.io for deployed pods; then the rest. With
// ready > 0 it waits that long for the Deployment to be available. It is
// what `up`'s orchestrator step runs, and converges on a re-run.
func (e *Engine) Install(ctx context.Context, c InstallConfig, ready time.Duration) error {
	objs, err := InstallObjects(c)
	if err != nil {
		return err
	}
	j := &Job{App: selfApp, Env: selfEnv, DeployID: "install"}
	var first []runtime.Object
	for _, o := range objs {
		switch o.(type) {
		case *corev1.Namespace, *corev1.Service:
			first = append(first, o)
		}
	}
	if c.APIAliasIP == "" {
		if err := e.applyOnly(ctx, j, first); err != nil {
			return err
		}
		svc, err := e.cs.CoreV1().Services(InstallNamespace).Get(ctx, InstallName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("read the orchestrator's Service: %w", err)
		}
		c.APIAliasIP = svc.Spec.ClusterIP
		if objs, err = InstallObjects(c); err != nil {
			return err
		}
	}
	if err := e.apply(ctx, j, objs); err != nil {
		return err
	}
	if ready <= 0 {
		return nil
	}
	var why string
	err = wait.PollUntilContextTimeout(ctx, installPoll, ready, true, func(ctx context.Context) (bool, error) {
		var ok bool
		ok, why = e.ready(ctx, "Deployment", InstallNamespace, InstallName)
		return ok, nil
	})
	if err != nil {
		msg := fmt.Sprintf("the local orchestrator is not ready after %s: %s", ready, why)
		if ev := e.events(ctx, InstallNamespace, InstallName); ev != "" {
			msg += "; last events: " + ev
		}
		return errors.New(msg + " (kubectl -n " + InstallNamespace + " logs deploy/" + InstallName + " says more)")
	}
	return nil
}

// applyOnly applies objs without pruning anything else.
func (e *Engine) applyOnly(ctx context.Context, j *Job, objs []runtime.Object) error {
	for _, o := range objs {
		if err := e.apply(ctx, &Job{App: j.App, Env: j.Env, DeployID: j.DeployID}, []runtime.Object{o}); err != nil {
			return err
		}
	}
	return nil
}

// RemoveAll deletes everything the orchestrator deployed, in every
// environment, and the orchestrator itself: what `down` runs.
func (e *Engine) RemoveAll(ctx context.Context) error {
	nss, err := e.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: labelManagedBy + "=" + managedByEngine})
	if err != nil {
		return fmt.Errorf("list the namespaces the orchestrator made: %w", err)
	}
	var errs []error
	seen := map[string]bool{}
	for _, ns := range nss.Items {
		app, env := ns.Labels[labelApp], ns.Labels[labelEnv]
		if seen[app+"/"+env] {
			continue
		}
		seen[app+"/"+env] = true
		errs = append(errs, e.Teardown(ctx, app, env))
	}
	return errors.Join(errs...)
}

package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pocketidp/pocketidp/internal/config"
)

// Existing returns how to reach a cluster the user already has, from
// kubeconfigPath (empty: client-go's default loading rules) and kubeContext
// (empty: the current context, pinned now so a later context switch cannot
// move the install). kind is not involved. A missing file, an unknown
// context, or a cluster that does not answer is *config.InputError naming
// the fix; nothing is changed in the cluster.
func Existing(ctx context.Context, kubeconfigPath, kubeContext string) (*Access, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	where := "the default kubeconfig ($KUBECONFIG or ~/.kube/config)"
	if kubeconfigPath != "" {
		if _, err := os.Stat(kubeconfigPath); err != nil {
			return nil, &config.InputError{
				Msg:  fmt.Sprintf("kubeconfig %s cannot be read: %v", kubeconfigPath, errors.Unwrap(err)),
				Hint: "pass --kubeconfig with the path of an existing kubeconfig file (e.g. ~/.kube/config), or pass --kubeconfig \"\" --context \"\" to let pocketidp create a kind cluster (this also replaces options saved by an earlier run)",
			}
		}
		rules.ExplicitPath = kubeconfigPath
		where = kubeconfigPath
	}
	raw, err := rules.Load()
	if err != nil {
		return nil, &config.InputError{
			Msg:  fmt.Sprintf("load kubeconfig %s: %v", where, err),
			Hint: "pass --kubeconfig with a valid kubeconfig file (`kubectl config view` must read it)",
		}
	}
	if kubeContext == "" {
		kubeContext = raw.CurrentContext
		if kubeContext == "" {
			return nil, &config.InputError{
				Msg:  fmt.Sprintf("%s has no current context", where),
				Hint: "pass --context with one of: " + contextList(raw),
			}
		}
	}
	if _, ok := raw.Contexts[kubeContext]; !ok {
		return nil, &config.InputError{
			Msg:  fmt.Sprintf("context %q is not in %s", kubeContext, where),
			Hint: "pass --context with one of: " + contextList(raw),
		}
	}
	cc := clientcmd.NewNonInteractiveClientConfig(*raw, kubeContext, &clientcmd.ConfigOverrides{}, rules)
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, &config.InputError{
			Msg:  fmt.Sprintf("context %s in %s is incomplete: %v", kubeContext, where, err),
			Hint: fmt.Sprintf("fix it so that `kubectl --context %s get nodes` works", kubeContext),
		}
	}
	acc := &Access{RESTConfig: rc, KubeconfigPath: kubeconfigPath, Context: kubeContext}
	if err := ping(ctx, acc); err != nil {
		return nil, err
	}
	return acc, nil
}

// ping asks the API server for its version: the cheapest call that proves
// the address and the credentials.
func ping(ctx context.Context, acc *Access) error {
	rc := *acc.RESTConfig
	rc.Timeout = 15 * time.Second
	dc, err := discovery.NewDiscoveryClientForConfig(&rc)
	if err != nil {
		return fmt.Errorf("kubernetes client for %s: %w", acc.Context, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := dc.ServerVersion()
		done <- err
	}()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case err = <-done:
	}
	if err == nil {
		return nil
	}
	check := fmt.Sprintf("`kubectl%s --context %s get --raw /version`", acc.kubeconfigFlag(), acc.Context)
	if apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err) {
		return &config.InputError{
			Msg:  fmt.Sprintf("the cluster of context %s (%s) rejects the credentials: %v", acc.Context, acc.RESTConfig.Host, err),
			Hint: "renew the credentials of that context (log in again), then check with " + check,
		}
	}
	return &config.InputError{
		Msg:  fmt.Sprintf("the cluster of context %s (%s) does not answer: %v", acc.Context, acc.RESTConfig.Host, err),
		Hint: "start the cluster or pick the right one with --context; " + check + " must work",
	}
}

func contextList(cfg *clientcmdapi.Config) string {
	var names []string
	for n := range cfg.Contexts {
		names = append(names, n)
	}
	if len(names) == 0 {
		return "(the kubeconfig has no contexts)"
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func (a *Access) kubeconfigFlag() string {
	if a.KubeconfigPath == "" {
		return ""
	}
	return " --kubeconfig " + quote(a.KubeconfigPath)
}

// DetectIngress fills IngressAddr or IngressHint for an existing cluster.
// Only a kind cluster (context kind-<name>) on this machine's engine can
// publish the ingress NodePort on the host; eng may be nil when there is no
// engine. port is --port, the port every URL carries.
func (a *Access) DetectIngress(ctx context.Context, eng Engine, port int) {
	a.IngressAddr, a.IngressHint = "", ""
	if name, ok := strings.CutPrefix(a.Context, "kind-"); ok && eng != nil {
		if c, err := eng.Inspect(ctx, config.NodeName(name)); err == nil {
			for _, hp := range c.Ports[IngressHTTPSNodePort] {
				a.IngressAddr = hp.String()
				if hp.Port != port {
					a.IngressHint = fmt.Sprintf("this cluster publishes the ingress on %s, not port %d: pass --port %d so the URLs match, or run %s",
						hp, port, hp.Port, a.portForward(port))
				}
				return
			}
		}
	}
	a.IngressHint = fmt.Sprintf("this cluster has no host port for the ingress: run %s and keep it running, then open https://git.localhost:%d",
		a.portForward(port), port)
}

func (a *Access) portForward(port int) string {
	return fmt.Sprintf("`kubectl%s --context %s port-forward -n %s svc/%s %d:websecure`",
		a.kubeconfigFlag(), a.Context, IngressNamespace, IngressServiceName, port)
}

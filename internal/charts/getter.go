package charts

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// RESTClientGetter is what Helm's action configuration loads its Kubernetes
// clients from.
type RESTClientGetter = genericclioptions.RESTClientGetter

// GetterFromKubeconfig aims Helm at a kubeconfig file and context, as
// `helm --kubeconfig --kube-context` would. An empty path means the usual
// search ($KUBECONFIG, ~/.kube/config); an empty context the current one.
func GetterFromKubeconfig(path, context string) RESTClientGetter {
	f := genericclioptions.NewConfigFlags(true)
	f.KubeConfig = &path
	f.Context = &context
	return f
}

// GetterFromConfig aims Helm at a cluster given as a client-go config (the
// API server of the tests, or a kind cluster's admin config). Discovery is
// cached in memory for the getter's lifetime: every release asks for the
// same API groups.
func GetterFromConfig(cfg *rest.Config) (RESTClientGetter, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(rest.CopyConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("kubernetes discovery client: %w", err)
	}
	cached := memory.NewMemCacheClient(dc)
	return &configGetter{cfg: rest.CopyConfig(cfg), discovery: cached,
		mapper: restmapper.NewShortcutExpander(restmapper.NewDeferredDiscoveryRESTMapper(cached), cached, nil)}, nil
}

type configGetter struct {
	cfg       *rest.Config
	discovery discovery.CachedDiscoveryInterface
	mapper    meta.RESTMapper
}

func (g *configGetter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.cfg), nil }
func (g *configGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return g.discovery, nil
}
func (g *configGetter) ToRESTMapper() (meta.RESTMapper, error) { return g.mapper, nil }
func (g *configGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return namespacedLoader{cfg: g.cfg, namespace: "default"}
}

// inNamespace makes a getter whose default namespace is ns, so the objects
// a chart renders without a namespace land in the release's namespace
// (Helm reads the default namespace from the kubeconfig loader).
func inNamespace(g RESTClientGetter, ns string) RESTClientGetter {
	return nsGetter{RESTClientGetter: g, namespace: ns}
}

type nsGetter struct {
	RESTClientGetter
	namespace string
}

func (g nsGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return namespacedLoader{base: g.RESTClientGetter.ToRawKubeConfigLoader(), getter: g.RESTClientGetter, namespace: g.namespace}
}

// namespacedLoader answers Namespace with a fixed namespace and delegates
// the rest to the underlying loader, if any.
type namespacedLoader struct {
	base      clientcmd.ClientConfig
	getter    RESTClientGetter
	cfg       *rest.Config
	namespace string
}

func (l namespacedLoader) RawConfig() (clientcmdapi.Config, error) {
	if l.base != nil {
		return l.base.RawConfig()
	}
	return *clientcmdapi.NewConfig(), nil
}

func (l namespacedLoader) ClientConfig() (*rest.Config, error) {
	if l.getter != nil {
		return l.getter.ToRESTConfig()
	}
	return rest.CopyConfig(l.cfg), nil
}

func (l namespacedLoader) Namespace() (string, bool, error) { return l.namespace, true, nil }

func (l namespacedLoader) ConfigAccess() clientcmd.ConfigAccess {
	if l.base != nil {
		return l.base.ConfigAccess()
	}
	return clientcmd.NewDefaultClientConfigLoadingRules()
}

package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"al.essio.dev/pkg/shellescape"
	"github.com/google/renameio/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/pocketidp/pocketidp/internal/config"
)

// The ingress service inside the cluster: the Traefik release's Service.
// CoreDNS sends the ingress hosts there and the summary's port-forward hint
// names it; the chart installer must create it under these names, with a
// port named "websecure".
const (
	IngressNamespace   = config.IngressNamespace
	IngressServiceName = config.IngressServiceName
	IngressServiceHost = config.IngressServiceHost
)

// DefaultReadyTimeout bounds the wait for the node to become Ready after
// create or start: kubeadm init plus the CNI take ~30-60 s on a laptop.
const DefaultReadyTimeout = 4 * time.Minute

// KubeconfigFile is the name of the private kubeconfig in the state dir.
const KubeconfigFile = "kubeconfig"

// Access is how the install reaches its cluster.
type Access struct {
	RESTConfig *rest.Config
	// KubeconfigPath and Context name the same cluster for tools that read a
	// kubeconfig (Helm's EnvSettings). An empty path means client-go's
	// default loading rules ($KUBECONFIG, ~/.kube/config).
	KubeconfigPath string
	Context        string
	// Kind is true for the kind cluster PocketIDP manages, false for an
	// existing cluster.
	Kind bool
	// IngressAddr is the host address (e.g. 127.0.0.1:8443) published for
	// the ingress's NodePort 30443, empty when the cluster has none.
	IngressAddr string
	// IngressHint, set when IngressAddr is empty or not --port, tells the
	// user how to reach the ingress; the summary shows it.
	IngressHint string
}

// Clientset returns a typed client for the cluster.
func (a *Access) Clientset() (kubernetes.Interface, error) {
	cs, err := kubernetes.NewForConfig(a.RESTConfig)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", a.Context, err)
	}
	return cs, nil
}

// Kind manages the kind cluster of an install.
type Kind struct {
	Engine Engine
	Config Config
	// StateDir receives the private kubeconfig the steps use, so they never
	// depend on the user's current context.
	StateDir string
	// ExportPath is where the kind-<name> context is merged for the user;
	// empty is kind's default ($KUBECONFIG or ~/.kube/config).
	ExportPath string
	// ReadyTimeout bounds the wait for the node; zero is DefaultReadyTimeout.
	ReadyTimeout time.Duration
	Log          *slog.Logger
	Progress     func(current, total int, msg string)
}

// Context is the kubeconfig context kind writes for the cluster.
func (k *Kind) Context() string { return "kind-" + k.Config.Name }

// KubeconfigPath is the private kubeconfig in the state dir.
func (k *Kind) KubeconfigPath() string { return filepath.Join(k.StateDir, KubeconfigFile) }

func (k *Kind) log() *slog.Logger {
	if k.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return k.Log
}

func (k *Kind) progress(cur, total int, msg string) {
	if k.Progress != nil {
		k.Progress(cur, total, msg)
	}
}

// Exists reports whether the engine has nodes of the cluster. It never
// reads a file: a cluster deleted behind our back is gone.
func (k *Kind) Exists(ctx context.Context) (bool, error) {
	names, err := k.Engine.Clusters(ctx)
	if err != nil {
		return false, fmt.Errorf("list kind clusters with %s: %w", k.Engine.Name(), err)
	}
	return slices.Contains(names, k.Config.Name), nil
}

// Check reports, changing nothing, whether the cluster is there as the
// install wants it: nodes exist and run, the ingress port is the one asked
// for, the API answers, every node is Ready, both kubeconfigs are current.
// It returns the access when so, else the first reason it is not.
func (k *Kind) Check(ctx context.Context) (*Access, string, error) {
	ok, err := k.Exists(ctx)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, fmt.Sprintf("kind cluster %s does not exist", k.Config.Name), nil
	}
	node, err := k.Engine.Inspect(ctx, k.Config.NodeName())
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Sprintf("node %s does not exist", k.Config.NodeName()), nil
	}
	if err != nil {
		return nil, "", err
	}
	if !node.Running {
		return nil, fmt.Sprintf("node %s is stopped", k.Config.NodeName()), nil
	}
	if err := k.checkMapping(node); err != nil {
		return nil, err.Error(), nil
	}
	kc, err := k.Engine.Kubeconfig(ctx, k.Config.Name)
	if err != nil {
		return nil, fmt.Sprintf("no kubeconfig from the node yet: %v", err), nil
	}
	if cur, err := os.ReadFile(k.KubeconfigPath()); err != nil || string(cur) != string(kc) {
		return nil, "the private kubeconfig is missing or stale", nil
	}
	if !exported(k.ExportPath, k.Context()) {
		return nil, fmt.Sprintf("context %s is not in the user's kubeconfig", k.Context()), nil
	}
	acc, err := k.access(kc)
	if err != nil {
		return nil, "", err
	}
	cs, err := acc.Clientset()
	if err != nil {
		return nil, "", err
	}
	if notReady, err := nodesNotReady(ctx, cs); err != nil || notReady != "" {
		if err != nil {
			return nil, fmt.Sprintf("API server does not answer: %v", err), nil
		}
		return nil, notReady, nil
	}
	return acc, "", nil
}

// Create creates the cluster, waits for its node with client-go and
// exports its context. A failed create leaves no nodes behind (kind removes
// them); a port already taken is bad input naming --port.
func (k *Kind) Create(ctx context.Context) (*Access, error) {
	raw, err := k.Config.Render()
	if err != nil {
		return nil, err
	}
	k.log().Info("creating kind cluster", "name", k.Config.Name, "image", k.Config.image(), "engine", k.Engine.Name(),
		"ingress", HostPort{IP: k.Config.ListenAddress, Port: k.Config.Port}.String())
	if err := k.Engine.Create(ctx, k.Config.Name, raw, k.ExportPath); err != nil {
		return nil, k.createError(err)
	}
	return k.finish(ctx)
}

func (k *Kind) createError(err error) error {
	msg := strings.ToLower(err.Error())
	if strings.Contains(msg, "port is already allocated") || strings.Contains(msg, "address already in use") {
		return &config.InputError{
			Msg:  fmt.Sprintf("create kind cluster %s: host port %d on %s is taken: %v", k.Config.Name, k.Config.Port, k.Config.ListenAddress, err),
			Hint: fmt.Sprintf("stop what listens on %s, or pass --port with a free port", HostPort{IP: k.Config.ListenAddress, Port: k.Config.Port}),
		}
	}
	return fmt.Errorf("create kind cluster %s with %s: %w", k.Config.Name, k.Engine.Name(), err)
}

// Adopt takes over an existing cluster of this name: it starts a stopped
// node (after a reboot kind's nodes stay down), refuses a cluster whose
// ingress port differs from the one asked for, waits for the node and
// exports the context.
func (k *Kind) Adopt(ctx context.Context) (*Access, error) {
	node, err := k.Engine.Inspect(ctx, k.Config.NodeName())
	if err != nil {
		return nil, fmt.Errorf("adopt kind cluster %s: %w", k.Config.Name, err)
	}
	if err := k.checkMapping(node); err != nil {
		return nil, err
	}
	if !node.Running {
		k.log().Info("starting stopped node", "node", k.Config.NodeName())
		if err := k.Engine.Start(ctx, k.Config.NodeName()); err != nil {
			return nil, fmt.Errorf("adopt kind cluster %s: %w", k.Config.Name, err)
		}
	}
	return k.finish(ctx)
}

// finish writes the private kubeconfig, exports the user's context and
// waits for the node.
func (k *Kind) finish(ctx context.Context) (*Access, error) {
	kc, err := k.Engine.Kubeconfig(ctx, k.Config.Name)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig of kind cluster %s: %w", k.Config.Name, err)
	}
	if err := os.MkdirAll(filepath.Dir(k.KubeconfigPath()), 0o700); err != nil {
		return nil, fmt.Errorf("write kubeconfig: %w", err)
	}
	if err := renameio.WriteFile(k.KubeconfigPath(), kc, 0o600); err != nil {
		return nil, fmt.Errorf("write kubeconfig: %w", err)
	}
	if !exported(k.ExportPath, k.Context()) {
		if err := k.Engine.ExportKubeconfig(ctx, k.Config.Name, k.ExportPath); err != nil {
			return nil, fmt.Errorf("export kubeconfig context %s: %w", k.Context(), err)
		}
	}
	acc, err := k.access(kc)
	if err != nil {
		return nil, err
	}
	timeout := k.ReadyTimeout
	if timeout == 0 {
		timeout = DefaultReadyTimeout
	}
	if err := WaitReady(ctx, acc.RESTConfig, timeout, k.log(), k.Progress); err != nil {
		return nil, fmt.Errorf("kind cluster %s: %w", k.Config.Name, err)
	}
	return acc, nil
}

// Access returns how to reach an existing cluster without changing it, or
// an error wrapping ErrNotFound when the engine has no such cluster.
func (k *Kind) Access(ctx context.Context) (*Access, error) {
	ok, err := k.Exists(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("kind cluster %s: %w", k.Config.Name, ErrNotFound)
	}
	kc, err := k.Engine.Kubeconfig(ctx, k.Config.Name)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig of kind cluster %s: %w", k.Config.Name, err)
	}
	return k.access(kc)
}

// Delete deletes the cluster and its private kubeconfig; a cluster already
// gone is success.
func (k *Kind) Delete(ctx context.Context) error {
	ok, err := k.Exists(ctx)
	if err != nil {
		return err
	}
	if ok {
		k.log().Info("deleting kind cluster", "name", k.Config.Name)
		if err := k.Engine.Delete(ctx, k.Config.Name, k.ExportPath); err != nil {
			return fmt.Errorf("delete kind cluster %s: %w", k.Config.Name, err)
		}
	}
	if err := os.Remove(k.KubeconfigPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove kubeconfig: %w", err)
	}
	return nil
}

func (k *Kind) access(kubeconfig []byte) (*Access, error) {
	rc, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig of kind cluster %s: %w", k.Config.Name, err)
	}
	return &Access{
		RESTConfig:     rc,
		KubeconfigPath: k.KubeconfigPath(),
		Context:        k.Context(),
		Kind:           true,
		IngressAddr:    HostPort{IP: k.Config.ListenAddress, Port: k.Config.Port}.String(),
	}, nil
}

// checkMapping refuses a node whose ingress port is not the one asked for:
// every URL (Gitea's ROOT_URL, the certificate, the summary) carries the
// port, so it cannot be changed on a running cluster.
func (k *Kind) checkMapping(node Container) error {
	want := HostPort{IP: k.Config.ListenAddress, Port: k.Config.Port}
	got := node.Ports[IngressHTTPSNodePort]
	for _, hp := range got {
		if hp.Port == want.Port && sameIP(hp.IP, want.IP) {
			return nil
		}
	}
	have := "no host port"
	if len(got) > 0 {
		var s []string
		for _, hp := range got {
			s = append(s, hp.String())
		}
		have = strings.Join(s, ", ")
	}
	return &config.InputError{
		Msg: fmt.Sprintf("kind cluster %s publishes the ingress port %d on %s, but this install asks for %s",
			k.Config.Name, IngressHTTPSNodePort, have, want),
		Hint: fmt.Sprintf("run `pocketidp down` and `pocketidp up` again to recreate it with the new address, or pass the old --port/--listen-address, or --name to create a second cluster"),
	}
}

func sameIP(a, b string) bool {
	if a == "" {
		a = "0.0.0.0"
	}
	if b == "" {
		b = "0.0.0.0"
	}
	ia, ib := net.ParseIP(a), net.ParseIP(b)
	return ia != nil && ib != nil && ia.Equal(ib)
}

// exported reports whether context is in the kubeconfig at path ("" = the
// default loading rules).
func exported(path, context string) bool {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	cfg, err := rules.Load()
	if err != nil {
		return false
	}
	_, ok := cfg.Contexts[context]
	return ok
}

// WaitReady waits until the API server answers and every node is Ready.
// kind's own wait reports success when it times out; this one fails and
// says what it was waiting for.
func WaitReady(ctx context.Context, rc *rest.Config, timeout time.Duration, log *slog.Logger, progress func(int, int, string)) error {
	// One call a second needs no client-side throttling, and the limiter
	// would fail a call near the deadline with its own message, hiding what
	// the wait was for.
	rcopy := rest.CopyConfig(rc)
	rcopy.RateLimiter = flowcontrol.NewFakeAlwaysRateLimiter()
	cs, err := kubernetes.NewForConfig(rcopy)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	if progress != nil {
		progress(0, 0, "waiting for the node to be Ready")
	}
	last := "the API server to answer"
	err = wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		notReady, err := nodesNotReady(ctx, cs)
		switch {
		case err != nil && ctx.Err() != nil:
			// The poll's own deadline cut this call short: keep what the
			// previous one found.
			return false, nil
		case err != nil:
			last = fmt.Sprintf("the API server to answer (last: %v)", err)
			return false, nil
		case notReady != "":
			last = notReady
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("waiting for %s: %w", last, ctx.Err())
		}
		return fmt.Errorf("gave up after %s waiting for %s", timeout, last)
	}
	if log != nil {
		log.Info("nodes Ready")
	}
	return nil
}

// nodesNotReady returns "" when there is at least one node and all are
// Ready, else which node is not and why.
func nodesNotReady(ctx context.Context, cs kubernetes.Interface) (string, error) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	nodes, err := cs.CoreV1().Nodes().List(rctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	if len(nodes.Items) == 0 {
		return "a node to register", nil
	}
	for _, n := range nodes.Items {
		ready := false
		why := "no Ready condition yet"
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ready = c.Status == corev1.ConditionTrue
				why = strings.TrimSpace(c.Reason + ": " + c.Message)
			}
		}
		if !ready {
			return fmt.Sprintf("node %s to be Ready (%s)", n.Name, why), nil
		}
	}
	return "", nil
}

func netJoin(ip string, port int) string { return net.JoinHostPort(ip, strconv.Itoa(port)) }

// quote quotes a path for a command the user copies.
func quote(s string) string { return shellescape.Quote(s) }

package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"k8s.io/client-go/kubernetes"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pocketidp/pocketidp/internal/charts"
	"github.com/pocketidp/pocketidp/internal/cluster"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/coredns"
	"github.com/pocketidp/pocketidp/internal/doctor"
	"github.com/pocketidp/pocketidp/internal/orchestrator"
	pkitls "github.com/pocketidp/pocketidp/internal/tls"
)

// Step names of the cluster half of `up`.
const (
	StepCluster = "cluster"
	StepTLS     = "tls"
	StepCoreDNS = "coredns"
	StepTrust   = "trust"
)

// Kinds of the state objects these steps record, so `down` removes only
// what this install made.
const (
	objKindCluster = "kind/cluster"   // id: cluster name
	objNamespace   = "kube/namespace" // id: namespace the tls step created
	objTrustedCA   = "os/trusted-ca"  // id: CA fingerprint
)

// TLSSecret is where the tls step puts the ingress certificate: the
// Traefik release serves it as its default certificate.
var TLSSecret = pkitls.SecretRef{Namespace: charts.TraefikNamespace, Name: charts.TLSSecret}

// ClusterInput is what the cluster steps share and hand on, and their seams
// for tests.
type ClusterInput struct {
	// Engine replaces kind on the detected container engine (tests). Nil
	// means doctor.DetectEngine, then kind on that engine.
	Engine cluster.Engine
	// Truster replaces the OS trust store (tests). Nil is the real one.
	Truster pkitls.Truster
	// ExportKubeconfig is where the kind-<name> context is merged; empty is
	// the user's default kubeconfig. Tests point it at a temporary file.
	ExportKubeconfig string
	// ReadyTimeout bounds the wait for the node; zero is the default.
	ReadyTimeout time.Duration

	mu     sync.Mutex
	access *cluster.Access
	engine string // detected engine name, once known
}

// clusterSteps are the cluster, its certificate, its in-cluster names and,
// with --trust, the CA in the OS trust store. The chart steps need
// "cluster" and (Traefik) "tls".
func clusterSteps(in *Install) []Step {
	steps := []Step{
		// Pulling the node image dominates a cold create.
		{Action: clusterStep{in}, Timeout: 15 * time.Minute},
		{Action: tlsStep{in}, Timeout: 2 * time.Minute},
		{Action: corednsStep{in}, Timeout: 2 * time.Minute},
	}
	// Never in Coder mode: the workspace's trust store is not the user's.
	// Also for `down` when an earlier run trusted the CA and --trust is gone.
	if !in.Options.Coder && (in.Options.Trust || in.hasObjectKind(objTrustedCA)) {
		// sudo may wait for a password.
		steps = append(steps, Step{Action: trustStep{in}, Timeout: 5 * time.Minute})
	}
	return steps
}

// Clientset is a Kubernetes client of the install's cluster (Kube); the
// error wraps cluster.ErrNotFound when the cluster is gone.
func (in *Install) Clientset(ctx context.Context) (kubernetes.Interface, error) {
	acc, err := in.Kube(ctx)
	if err != nil {
		return nil, err
	}
	return acc.Clientset()
}

// Kube returns how to reach the install's cluster: what the cluster step
// found, or, for a step that runs without it (an Undo in `down`), resolved
// now without changing anything. For a kind cluster that no longer exists
// the error wraps cluster.ErrNotFound: what it held is gone with it.
func (in *Install) Kube(ctx context.Context) (*cluster.Access, error) {
	in.Cluster.mu.Lock()
	acc := in.Cluster.access
	in.Cluster.mu.Unlock()
	if acc != nil {
		return acc, nil
	}
	if in.Options.ExistingCluster() {
		acc, err := cluster.Existing(ctx, in.Options.Kubeconfig, in.Options.Context)
		if err != nil {
			return nil, err
		}
		return acc, in.setKube(acc)
	}
	k, err := in.kind(ctx)
	if err != nil {
		return nil, err
	}
	acc, err = k.Access(ctx)
	if err != nil {
		return nil, err
	}
	return acc, in.setKube(acc)
}

// setKube keeps the access for the steps after this one and gives the
// chart steps their getter.
func (in *Install) setKube(acc *cluster.Access) error {
	getter, err := charts.GetterFromConfig(acc.RESTConfig)
	if err != nil {
		return fmt.Errorf("kubernetes client for %s: %w", acc.Context, err)
	}
	in.Cluster.mu.Lock()
	in.Cluster.access = acc
	in.Cluster.mu.Unlock()
	in.mu.Lock()
	in.Charts.Getter = getter
	in.mu.Unlock()
	return nil
}

// IngressHint is what the summary tells the user when no host port reaches
// the ingress (an existing cluster), empty otherwise or before the cluster
// step ran.
func (in *Install) IngressHint() string {
	in.Cluster.mu.Lock()
	defer in.Cluster.mu.Unlock()
	if in.Cluster.access == nil {
		return ""
	}
	return in.Cluster.access.IngressHint
}

// kind returns the kind cluster of the install on the container engine,
// detected as kind would (KIND_EXPERIMENTAL_PROVIDER, docker, podman) and
// checked to answer: a missing or stopped engine is bad input naming the
// fix, before anything is made. sc (may be nil) gets kind's messages.
func (in *Install) kind(ctx context.Context) (*cluster.Kind, error) {
	if in.Store == nil {
		return nil, errors.New("cluster: no state store")
	}
	eng := in.Cluster.Engine
	provider := "docker"
	if eng != nil {
		provider = eng.Name()
	} else {
		in.Cluster.mu.Lock()
		provider = in.Cluster.engine
		in.Cluster.mu.Unlock()
		if provider == "" {
			host := in.Host
			if host == nil {
				host = doctor.System{}
			}
			e, err := doctor.DetectEngine(ctx, host)
			if err != nil {
				return nil, err
			}
			provider = e.Name
			in.Cluster.mu.Lock()
			in.Cluster.engine = provider
			in.Cluster.mu.Unlock()
		}
		host := in.Host
		if host == nil {
			host = doctor.System{}
		}
		var err error
		if eng, err = cluster.NewKindEngine(ctx, provider, host.Output); err != nil {
			return nil, err
		}
	}
	k := &cluster.Kind{
		Engine: eng,
		Config: cluster.Config{
			Name: in.Options.Name, Port: in.Options.Port, ForwardPort: in.Options.ForwardPort(),
			RegistryPort: config.RegistryPort, ListenAddress: in.Options.ListenAddress, Provider: provider,
		},
		StateDir:     in.Store.Dir(),
		ExportPath:   in.Cluster.ExportKubeconfig,
		ReadyTimeout: in.Cluster.ReadyTimeout,
	}
	return k, nil
}

// ownsCluster reports whether this install created the kind cluster.
func (in *Install) ownsCluster() bool {
	return !in.Options.ExistingCluster() && in.Store != nil && in.Store.HasObject(objKindCluster, in.Options.Name)
}

// clusterGoes reports whether `down` deletes the whole kind cluster, so
// what lives in it need not be removed piece by piece.
func (in *Install) clusterGoes() bool { return in.ownsCluster() && !in.Keep[StepCluster] }

func (in *Install) hasObjectKind(kind string) bool {
	if in.Store == nil {
		return false
	}
	for _, o := range in.Store.Snapshot().Objects {
		if o.Kind == kind {
			return true
		}
	}
	return false
}

// --- cluster ---

// clusterStep creates or adopts the kind cluster, or connects to the
// user's existing cluster. Undo deletes only a kind cluster this install
// created.
type clusterStep struct{ in *Install }

func (clusterStep) Name() string { return StepCluster }

// Done is true when the cluster is there as wanted; it then hands the
// access on, since Run will not.
func (s clusterStep) Done(ctx context.Context, sc *StepContext) (bool, error) {
	in := s.in
	if in.Options.ExistingCluster() {
		// Run creates nothing here: it checks the kubeconfig and the API and
		// says which cluster is used and how to reach its ingress, every time.
		return false, nil
	}
	k, err := in.kind(ctx)
	if err != nil {
		return false, nil // Run reports the engine
	}
	acc, why, err := k.Check(ctx)
	if err != nil || acc == nil {
		if why != "" {
			sc.Logger().Debug("cluster not done: " + why)
		}
		return false, nil
	}
	// The access is Kube's to derive when a later step asks: Done only
	// answers.
	return true, nil
}

func (s clusterStep) Run(ctx context.Context, sc *StepContext) error {
	in := s.in
	if in.Options.ExistingCluster() {
		acc, err := cluster.Existing(ctx, in.Options.Kubeconfig, in.Options.Context)
		if err != nil {
			return err
		}
		sc.Logger().Info(fmt.Sprintf("using the existing cluster of context %s (%s); kind is not used", acc.Context, acc.RESTConfig.Host))
		s.detectIngress(ctx, acc)
		if acc.IngressHint != "" {
			sc.Logger().Warn(acc.IngressHint)
		}
		return in.setKube(acc)
	}

	k, err := in.kind(ctx)
	if err != nil {
		return err
	}
	exists, err := k.Exists(ctx)
	if err != nil {
		return err
	}
	var acc *cluster.Access
	if exists {
		acc, err = k.Adopt(ctx)
		if err != nil && in.ownsCluster() && !config.IsInput(err) && ctx.Err() == nil {
			// Ours, and broken: most likely an earlier create was
			// interrupted half-way. Nothing of the user's is in it.
			sc.Logger().Warn(fmt.Sprintf("kind cluster %s (made by an earlier run) is not usable: %v; recreating it", in.Options.Name, err))
			if err := k.Delete(ctx); err != nil {
				return err
			}
			exists = false
		} else if err != nil {
			return err
		} else {
			sc.Logger().Info(fmt.Sprintf("kind cluster %s is there and Ready", in.Options.Name))
		}
	}
	if !exists {
		// Recorded before creating: a run stopped half-way leaves a cluster
		// the next run knows to be its own.
		if err := in.Store.AddObject(objKindCluster, in.Options.Name); err != nil {
			return err
		}
		acc, err = k.Create(ctx)
		if err != nil {
			if ctx.Err() != nil {
				// Interrupted: kind's library takes no context and goes on
				// in the background, so the node may yet appear. The
				// record stays: the next run knows the cluster is its own
				// and recreates it if it is half-made.
				return err
			}
			if there, lerr := k.Exists(context.WithoutCancel(ctx)); lerr == nil && !there {
				// kind removed the nodes: nothing is left to own.
				_ = in.Store.RemoveObject(objKindCluster, in.Options.Name)
			}
			return err
		}
		sc.Logger().Info(fmt.Sprintf("kind cluster %s created; kubectl context %s", in.Options.Name, acc.Context))
	}
	return in.setKube(acc)
}

// detectIngress looks for a host port of an existing kind cluster; any
// engine trouble just means no port, so it is never an error.
func (s clusterStep) detectIngress(ctx context.Context, acc *cluster.Access) {
	var eng cluster.Engine
	// Only a kind cluster can publish a host port; asking the engine about
	// any other would cost a daemon round trip for nothing.
	if strings.HasPrefix(acc.Context, "kind-") {
		if k, err := s.in.kind(ctx); err == nil {
			eng = k.Engine
		}
	}
	acc.DetectIngress(ctx, eng, s.in.Options.Port)
}

func (s clusterStep) Undo(ctx context.Context, sc *StepContext) error {
	in := s.in
	if in.Options.ExistingCluster() {
		return nil // the user's cluster is never deleted
	}
	if !in.ownsCluster() {
		sc.Logger().Info(fmt.Sprintf("kind cluster %s was not created by pocketidp: kept", in.Options.Name))
		return nil
	}
	k, err := in.kind(ctx)
	if err != nil {
		return err
	}
	if err := k.Delete(ctx); err != nil {
		return err
	}
	in.Cluster.mu.Lock()
	in.Cluster.access = nil
	in.Cluster.mu.Unlock()
	return in.Store.RemoveObject(objKindCluster, in.Options.Name)
}

// --- tls ---

// tlsStep makes the CA (once) and the ingress certificate, and puts the
// certificate into the cluster as the TLS Secret Traefik serves.
type tlsStep struct{ in *Install }

func (tlsStep) Name() string { return StepTLS }

func (in *Install) tlsStore() *pkitls.Store {
	return &pkitls.Store{Dir: filepath.Join(in.stateDir(), "tls")}
}

// stateDir is the open state's folder, or the options' when no state is
// open (`status` reads, it does not lock).
func (in *Install) stateDir() string {
	if in.Store != nil {
		return in.Store.Dir()
	}
	return in.Options.StateDir
}

// certHosts are the names the ingress certificate covers: Gitea's, the
// local orchestrator's when it is the install's, and
// Backstage's once the orchestrator gave it one (the backstage/ready step
// records it; in-cluster DNS covers it already through the *.localhost
// rule). A new host reissues the certificate.
func (in *Install) certHosts() ([]string, error) {
	var extra []string
	if in.Options.LocalOrchestrator() {
		extra = append(extra, orchestrator.HostName)
	}
	if in.Store != nil {
		if h := in.Store.Value(ValueBackstageHost); h != "" {
			extra = append(extra, h)
		}
	}
	hosts, err := pkitls.Hosts(in.Options.Name, extra...)
	if err != nil {
		return nil, &config.InputError{Msg: err.Error(), Hint: "list each app host by name"}
	}
	return hosts, nil
}

// caCertPEM is PocketIDP's CA certificate as the tls step left it in the
// state dir (the runner and the ingress client trust it); nil before that.
func (in *Install) caCertPEM() []byte {
	if in.stateDir() == "" {
		return nil
	}
	b, err := in.tlsStore().CACertPEM()
	if err != nil {
		return nil
	}
	return b
}

func (s tlsStep) Done(ctx context.Context, _ *StepContext) (bool, error) {
	in := s.in
	hosts, err := in.certHosts()
	if err != nil {
		return false, nil
	}
	ca, leaf, why, err := in.tlsStore().Current(hosts)
	if err != nil || why != "" {
		return false, nil
	}
	cs, err := in.Clientset(ctx)
	if err != nil {
		return false, err
	}
	return pkitls.SecretCurrent(ctx, cs, TLSSecret, leaf, ca.CertPEM)
}

func (s tlsStep) Run(ctx context.Context, sc *StepContext) error {
	in := s.in
	hosts, err := in.certHosts()
	if err != nil {
		return err
	}
	ca, leaf, renewed, err := in.tlsStore().Ensure(hosts)
	if err != nil {
		return err
	}
	if renewed != "" {
		sc.Logger().Info(fmt.Sprintf("issued the ingress certificate (%s), valid until %s", renewed, leaf.Cert.NotAfter.Format(time.DateOnly)))
	}
	cs, err := in.Clientset(ctx)
	if err != nil {
		return err
	}
	res, err := pkitls.ApplySecret(ctx, cs, TLSSecret, leaf, ca.CertPEM)
	if err != nil {
		return err
	}
	if res.CreatedNamespace {
		if err := in.Store.AddObject(objNamespace, TLSSecret.Namespace); err != nil {
			return err
		}
	}
	if res.Changed {
		sc.Logger().Info("TLS Secret " + TLSSecret.String() + " written")
	}
	return nil
}

// Undo removes the Secret (and the namespace it made) unless the whole
// kind cluster goes next anyway, then the CA and certificate files. The
// trust step, which needs the CA, is undone before.
func (s tlsStep) Undo(ctx context.Context, sc *StepContext) error {
	in := s.in
	if !in.clusterGoes() {
		cs, err := in.Clientset(ctx)
		switch {
		case errors.Is(err, cluster.ErrNotFound):
			// The cluster is gone, and the Secret with it.
		case err != nil:
			return err
		default:
			ownNS := in.Store.HasObject(objNamespace, TLSSecret.Namespace)
			if err := pkitls.DeleteSecret(ctx, cs, TLSSecret, ownNS); err != nil {
				return err
			}
			sc.Logger().Info("TLS Secret " + TLSSecret.String() + " removed")
		}
	}
	if err := in.Store.RemoveObject(objNamespace, TLSSecret.Namespace); err != nil {
		return err
	}
	return in.tlsStore().Remove()
}

// --- coredns ---

// corednsStep sends the ingress hosts to the ingress Service inside the
// cluster.
type corednsStep struct{ in *Install }

func (corednsStep) Name() string { return StepCoreDNS }

// IngressTarget is the ingress Service's name inside the cluster.
var IngressTarget = cluster.IngressServiceHost

func (in *Install) dnsRules() coredns.Rules {
	return coredns.Rules{
		Target:        IngressTarget,
		Hosts:         []string{config.GiteaHost},
		LocalhostApps: true,
		Aliases:       map[string]string{config.CourseGiteaHost: charts.CourseHostServiceHost()},
	}
}

func (s corednsStep) Done(ctx context.Context, _ *StepContext) (bool, error) {
	cs, err := s.in.Clientset(ctx)
	if err != nil {
		return false, err
	}
	return coredns.Current(ctx, cs, s.in.dnsRules())
}

func (s corednsStep) Run(ctx context.Context, sc *StepContext) error {
	cs, err := s.in.Clientset(ctx)
	if err != nil {
		return err
	}
	changed, err := coredns.Apply(ctx, cs, s.in.dnsRules())
	if err != nil {
		return err
	}
	if changed {
		sc.Logger().Info("CoreDNS sends git.localhost and *.localhost to " + IngressTarget)
	}
	return nil
}

func (s corednsStep) Undo(ctx context.Context, sc *StepContext) error {
	if s.in.clusterGoes() {
		return nil // the cluster, CoreDNS and all, goes next
	}
	cs, err := s.in.Clientset(ctx)
	if errors.Is(err, cluster.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	changed, err := coredns.Remove(ctx, cs)
	if changed {
		sc.Logger().Info("CoreDNS rewrite rules removed")
	}
	return err
}

// --- trust ---

// trustStep installs the CA into the OS trust store (--trust) and removes
// it on `down`, only when this install put it there.
type trustStep struct{ in *Install }

func (trustStep) Name() string { return StepTrust }

func (in *Install) truster() pkitls.Truster {
	if in.Cluster.Truster != nil {
		return in.Cluster.Truster
	}
	return pkitls.SystemTrust{}
}

func (s trustStep) Done(context.Context, *StepContext) (bool, error) {
	ca, err := s.in.tlsStore().LoadCA()
	if err != nil {
		return false, nil
	}
	return s.in.truster().Trusted(ca.Cert), nil
}

func (s trustStep) Run(_ context.Context, sc *StepContext) error {
	in := s.in
	if in.Options.Coder {
		return nil // never: the plan leaves this step out, this is a guard
	}
	ca, err := in.tlsStore().LoadCA()
	if err != nil {
		return err
	}
	sc.Logger().Info("installing the CA " + ca.Cert.Subject.CommonName + " into the system trust store (may ask for your password)")
	// Recorded first: a trust store half-written by an interrupted sudo is
	// still cleaned up by `down`.
	if err := in.Store.AddObject(objTrustedCA, ca.Fingerprint()); err != nil {
		return err
	}
	if err := in.truster().Install(ca.Cert); err != nil {
		return fixError{err: err,
			fix: "run again without --trust and import " + filepath.Join(in.tlsStore().Dir, "ca.crt") + " into your browser by hand"}
	}
	return nil
}

func (s trustStep) Undo(_ context.Context, sc *StepContext) error {
	in := s.in
	if in.Options.Coder {
		return nil
	}
	ca, err := in.tlsStore().LoadCA()
	if err != nil {
		if in.hasObjectKind(objTrustedCA) {
			return fmt.Errorf("the CA this install trusted is no longer in %s, so it cannot be taken out of the trust store: remove \"PocketIDP local CA\" there by hand: %w", in.tlsStore().Dir, err)
		}
		return nil
	}
	if !in.Store.HasObject(objTrustedCA, ca.Fingerprint()) {
		return nil // trusted by someone else, or never: not ours to remove
	}
	sc.Logger().Info("removing the CA " + ca.Cert.Subject.CommonName + " from the system trust store")
	if err := in.truster().Uninstall(ca.Cert); err != nil {
		return err
	}
	return in.Store.RemoveObject(objTrustedCA, ca.Fingerprint())
}

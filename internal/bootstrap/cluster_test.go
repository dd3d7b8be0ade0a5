package bootstrap

import (
	"context"
	cryptotls "crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pocketidp/pocketidp/internal/cluster"
	"github.com/pocketidp/pocketidp/internal/cluster/clustertest"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/coredns"
	"github.com/pocketidp/pocketidp/internal/state"
	"github.com/pocketidp/pocketidp/internal/testenv"
	pkitls "github.com/pocketidp/pocketidp/internal/tls"
)

// kindCorefile is the Corefile kind and kubeadm write.
const kindCorefile = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`

// seedCoreDNS creates CoreDNS's ConfigMap and Deployment as a real cluster
// has them; the test bed's API server has neither.
func seedCoreDNS(t testing.TB, cs kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	if _, err := cs.CoreV1().ConfigMaps("kube-system").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "coredns"}, Data: map[string]string{"Corefile": kindCorefile}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"k8s-app": "kube-dns"}
	if _, err := cs.AppsV1().Deployments("kube-system").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "coredns"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "coredns", Image: "registry.k8s.io/coredns/coredns:v1.12.1"}}}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// stepEvents collects a run's events.
type stepEvents struct {
	mu  sync.Mutex
	all []Event
}

func (ev *stepEvents) Emit(e Event) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	ev.all = append(ev.all, e)
}

// outcome is the last done/skipped/failed event of a step, "" if none.
func (ev *stepEvents) outcome(step string) Kind {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var k Kind
	for _, e := range ev.all {
		if e.Step == step && (e.Kind == Done || e.Kind == Skipped || e.Kind == Failed) {
			k = e.Kind
		}
	}
	return k
}

func (ev *stepEvents) text() string {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var b strings.Builder
	for _, e := range ev.all {
		b.WriteString(e.Step + " " + string(e.Kind) + " " + e.Message + "\n")
	}
	return b.String()
}

// clusterEnv is one install's state dir, opened anew for every run as a
// new process would.
type clusterEnv struct {
	t        testing.TB
	stateDir string
	opts     config.Options
	// setup adjusts each new Install (seams, hosts).
	setup func(in *Install)
}

func (e *clusterEnv) install() *Install {
	e.t.Helper()
	st, err := state.Open(e.stateDir)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	in := &Install{Options: e.opts, Store: st, Host: noEngineHost{}, Log: slog.New(slog.DiscardHandler)}
	if e.setup != nil {
		e.setup(in)
	}
	return in
}

// run runs (or undoes) the cluster steps in a new Install and closes its
// state, as one `pocketidp up` (or down) would.
func (e *clusterEnv) run(undo bool) (*Install, *stepEvents, error) {
	e.t.Helper()
	return e.runCtx(context.Background(), undo)
}

func (e *clusterEnv) runCtx(ctx context.Context, undo bool) (*Install, *stepEvents, error) {
	e.t.Helper()
	in := e.install()
	defer in.Store.Close()
	plan, err := NewPlan(wireSubset(clusterSteps(in))...)
	if err != nil {
		e.t.Fatal(err)
	}
	ev := &stepEvents{}
	r := &Runner{Sink: ev, Status: in.Store}
	if undo {
		return in, ev, r.Undo(ctx, plan)
	}
	return in, ev, r.Run(ctx, plan)
}

// An interrupted create keeps the record that the cluster is this
// install's: kind goes on in the background and the node appears after the
// step gave up. The next run takes it as its own instead of refusing it.
func TestClusterCreateInterrupted(t *testing.T) {
	api := testenv.APIServer(t)
	cs := kube(t, api)
	seedCoreDNS(t, cs)
	readyNode(t, cs, "5min-idp-control-plane")
	server, err := clientcmd.LoadFromFile(api.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	eng := &clustertest.Engine{Server: server, OnCreate: func(context.Context, string) error {
		cancel() // Ctrl-C while kind works; it finishes the node anyway
		return context.Canceled
	}}
	e := kindEnv(t, api, eng, &fakeTrust{})
	if _, _, err := e.runCtx(ctx, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted up: %v, want canceled", err)
	}
	if !e.hasObject(objKindCluster, "5min-idp") {
		t.Fatalf("the interrupted run dropped the record of its cluster: %v", e.objects())
	}
	// kind, in the background, finishes the node after the step gave up.
	eng.OnCreate = nil
	eng.AddCluster("5min-idp", cluster.Container{Running: true, Ports: map[int][]cluster.HostPort{
		config.IngressHTTPSNodePort: {{IP: "127.0.0.1", Port: 8443}},
		config.RegistryPort:         {{IP: "127.0.0.1", Port: config.RegistryPort}},
	}})
	if _, ev, err := e.run(false); err != nil || ev.outcome(StepCluster) != Done {
		t.Fatalf("run after the interruption: %v, cluster %s\n%s", err, ev.outcome(StepCluster), ev.text())
	}
}

func (e *clusterEnv) objects() []state.Object {
	e.t.Helper()
	f, err := state.Read(e.stateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return f.Objects
}

func (e *clusterEnv) hasObject(kind, id string) bool {
	return slices.ContainsFunc(e.objects(), func(o state.Object) bool { return o.Kind == kind && o.ID == id })
}

// noEngineHost is a machine without docker or podman: the tests that use
// the engine inject a fake one, and any other attempt to find one fails.
type noEngineHost struct{}

func (noEngineHost) Getenv(string) string { return "" }
func (noEngineHost) Output(context.Context, string, ...string) ([]byte, error) {
	return nil, errors.New("no such program")
}
func (noEngineHost) LookPath(f string) (string, error)        { return "", errors.New(f + ": not found") }
func (noEngineHost) Listen(n, a string) (net.Listener, error) { return net.Listen(n, a) }
func (noEngineHost) ReadFile(name string) ([]byte, error)     { return os.ReadFile(name) }
func (noEngineHost) NumCPU() int                              { return 4 }
func (noEngineHost) GOOS() string                             { return "linux" }

// stoppedDockerHost has the docker client, but its daemon does not answer.
type stoppedDockerHost struct{ noEngineHost }

func (stoppedDockerHost) LookPath(f string) (string, error) {
	if f == "docker" {
		return "/usr/bin/docker", nil
	}
	return "", errors.New(f + ": not found")
}

func (stoppedDockerHost) Output(_ context.Context, name string, args ...string) ([]byte, error) {
	if name == "docker" && len(args) == 1 && args[0] == "-v" {
		return []byte("Docker version 28.2.2, build e6534b4\n"), nil
	}
	return nil, errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
}

// fakeTrust is an OS trust store in memory.
type fakeTrust struct {
	mu      sync.Mutex
	trusted map[string]bool
	calls   []string
}

func (f *fakeTrust) Trusted(ca *x509.Certificate) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.trusted[string(ca.Raw)]
}

func (f *fakeTrust) Install(ca *x509.Certificate) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.trusted == nil {
		f.trusted = map[string]bool{}
	}
	f.trusted[string(ca.Raw)] = true
	f.calls = append(f.calls, "install")
	return nil
}

func (f *fakeTrust) Uninstall(ca *x509.Certificate) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.trusted, string(ca.Raw))
	f.calls = append(f.calls, "uninstall")
	return nil
}

func kube(t testing.TB, c *testenv.Cluster) kubernetes.Interface {
	t.Helper()
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func resourceVersions(t *testing.T, cs kubernetes.Interface) (secret, corefile string) {
	t.Helper()
	ctx := context.Background()
	s, err := cs.CoreV1().Secrets(TLSSecret.Namespace).Get(ctx, TLSSecret.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s.ResourceVersion, cm.ResourceVersion
}

// checkTLSSecret verifies the Secret's certificate against the CA in the
// state dir for every host it must cover.
func checkTLSSecret(t *testing.T, cs kubernetes.Interface, stateDir string, hosts ...string) {
	t.Helper()
	s, err := cs.CoreV1().Secrets(TLSSecret.Namespace).Get(context.Background(), TLSSecret.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("TLS Secret: %v", err)
	}
	if s.Type != corev1.SecretTypeTLS {
		t.Errorf("Secret type %s, want %s", s.Type, corev1.SecretTypeTLS)
	}
	caPEM, err := os.ReadFile(filepath.Join(stateDir, "tls", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Data["ca.crt"]) != string(caPEM) {
		t.Error("Secret's ca.crt is not the CA in the state dir")
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	pair, err := tlsPair(s.Data["tls.crt"], s.Data["tls.key"])
	if err != nil {
		t.Fatalf("Secret's certificate and key do not form a pair: %v", err)
	}
	for _, h := range hosts {
		if _, err := pair.Verify(x509.VerifyOptions{DNSName: h, Roots: roots}); err != nil {
			t.Errorf("Secret's certificate does not verify for %s: %v", h, err)
		}
	}
}

// The existing-cluster mode end to end against a real API server: up, a
// re-run that changes nothing, a new host, down.
func TestClusterStepsExistingCluster(t *testing.T) {
	api := testenv.APIServer(t)
	cs := kube(t, api)
	seedCoreDNS(t, cs)
	ctx := context.Background()

	opts := config.Defaults()
	opts.Kubeconfig, opts.Context = api.KubeconfigPath, testenv.KubeContext
	e := &clusterEnv{t: t, stateDir: t.TempDir(), opts: opts}

	in, ev, err := e.run(false)
	if err != nil {
		t.Fatalf("up: %v\n%s", err, ev.text())
	}
	for _, s := range []string{StepCluster, StepTLS, StepCoreDNS} {
		if k := ev.outcome(s); k != Done {
			t.Errorf("up: %s %s, want done", s, k)
		}
	}
	if ev.outcome(StepTrust) != "" {
		t.Error("trust step ran without --trust")
	}
	checkTLSSecret(t, cs, e.stateDir, "git.localhost", "localhost", "127.0.0.1", "::1", "5min-idp-control-plane")
	ns, err := cs.CoreV1().Namespaces().Get(ctx, TLSSecret.Namespace, metav1.GetOptions{})
	if err != nil || ns.Labels[pkitls.ManagedByLabel] != pkitls.ManagedBy {
		t.Errorf("namespace %s: %v, labels %v", TLSSecret.Namespace, err, ns.Labels)
	}
	if !e.hasObject(objNamespace, TLSSecret.Namespace) {
		t.Error("the namespace the tls step created is not recorded")
	}
	cm, _ := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	for _, rule := range []string{
		"rewrite stop name exact git.localhost traefik.traefik.svc.cluster.local\n",
		"rewrite stop name regex " + coredns.LocalhostAppsRegex + " traefik.traefik.svc.cluster.local answer auto\n",
	} {
		if !strings.Contains(cm.Data["Corefile"], rule) {
			t.Errorf("Corefile lacks %q:\n%s", rule, cm.Data["Corefile"])
		}
	}
	if hint := in.IngressHint(); !strings.Contains(hint, "port-forward -n traefik svc/traefik 8443:websecure") {
		t.Errorf("ingress hint = %q", hint)
	}
	if in.Charts.Getter == nil || len(in.caCertPEM()) == 0 {
		t.Error("the chart steps did not get the cluster getter and the CA")
	}
	if _, err := os.Stat(filepath.Join(e.stateDir, "kubeconfig")); !errors.Is(err, os.ErrNotExist) {
		t.Error("existing-cluster mode wrote a kubeconfig of its own")
	}
	if len(slices.DeleteFunc(e.objects(), func(o state.Object) bool { return o.Kind == objNamespace })) != 0 {
		t.Errorf("objects recorded besides the namespace: %v", e.objects())
	}

	// Re-run: everything skipped, nothing written, the chart steps still
	// get what they need.
	secretRV, cmRV := resourceVersions(t, cs)
	in, ev, err = e.run(false)
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	// The cluster step checks the user's cluster again (it creates nothing
	// there); the others find their work done.
	for s, want := range map[string]Kind{StepCluster: Done, StepTLS: Skipped, StepCoreDNS: Skipped} {
		if k := ev.outcome(s); k != want {
			t.Errorf("re-run: %s %s, want %s\n%s", s, k, want, ev.text())
		}
	}
	if s2, c2 := resourceVersions(t, cs); s2 != secretRV || c2 != cmRV {
		t.Errorf("re-run wrote: Secret %s→%s, ConfigMap %s→%s", secretRV, s2, cmRV, c2)
	}
	if in.Charts.Getter == nil || len(in.caCertPEM()) == 0 {
		t.Error("re-run: skipped steps did not hand on the getter and the CA")
	}

	// Backstage's host becomes known: the certificate is reissued.
	e.setup = func(in *Install) {
		if err := in.Store.SetValue(ValueBackstageHost, "5min-backstage-abcd-x1y2.localhost"); err != nil {
			t.Fatal(err)
		}
	}
	if _, ev, err = e.run(false); err != nil {
		t.Fatalf("run with a new host: %v", err)
	}
	if ev.outcome(StepTLS) != Done || ev.outcome(StepCoreDNS) != Skipped {
		t.Errorf("new host: %s", ev.text())
	}
	checkTLSSecret(t, cs, e.stateDir, "git.localhost", "5min-backstage-abcd-x1y2.localhost")

	// down: the Secret, our namespace and our Corefile block go; the
	// cluster stays.
	if _, ev, err = e.run(true); err != nil {
		t.Fatalf("down: %v\n%s", err, ev.text())
	}
	if _, err := cs.CoreV1().Secrets(TLSSecret.Namespace).Get(ctx, TLSSecret.Name, metav1.GetOptions{}); err == nil {
		t.Error("TLS Secret left after down")
	}
	if ns, err := cs.CoreV1().Namespaces().Get(ctx, TLSSecret.Namespace, metav1.GetOptions{}); err == nil && ns.DeletionTimestamp == nil {
		t.Error("namespace the tls step created was not deleted")
	}
	cm, _ = cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	if cm.Data["Corefile"] != kindCorefile {
		t.Errorf("Corefile not restored:\n%s", cm.Data["Corefile"])
	}
	if _, err := os.Stat(filepath.Join(e.stateDir, "tls")); !errors.Is(err, os.ErrNotExist) {
		t.Error("CA and certificate files left after down")
	}
	if len(e.objects()) != 0 {
		t.Errorf("objects left after down: %v", e.objects())
	}
	if _, err := cs.Discovery().ServerVersion(); err != nil {
		t.Errorf("the user's cluster does not answer after down: %v", err)
	}
}

// Bad input stops at the cluster step with an error that names the fix,
// and nothing is made: no state objects, no files, no Secret.
func TestClusterStepsBadInput(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	otherKubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := clientcmdapiConfig("real")
	if err := clientcmd.WriteToFile(*cfg, otherKubeconfig); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		change   func(o *config.Options, in *Install)
		wantMsg  string
		wantHint string
	}{
		{"kubeconfig path wrong", func(o *config.Options, _ *Install) { o.Kubeconfig = missing },
			"kubeconfig " + missing + " cannot be read", "pass --kubeconfig with the path of an existing kubeconfig"},
		{"context wrong", func(o *config.Options, _ *Install) { o.Kubeconfig, o.Context = otherKubeconfig, "prod" },
			`context "prod" is not in`, "pass --context with one of: real"},
		{"engine missing", func(*config.Options, *Install) {},
			"no container engine found (looked for docker and podman on PATH)", "install Docker"},
		{"engine stopped", func(_ *config.Options, in *Install) { in.Host = stoppedDockerHost{} },
			"docker is installed at /usr/bin/docker but its engine does not answer", "start the Docker daemon"},
		{"provider unknown", func(_ *config.Options, in *Install) { in.Host = envHost{"KIND_EXPERIMENTAL_PROVIDER": "lxc"} },
			"KIND_EXPERIMENTAL_PROVIDER=lxc is not supported", "set it to docker or podman"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := config.Defaults()
			e := &clusterEnv{t: t, stateDir: t.TempDir(), opts: opts}
			e.setup = func(in *Install) {
				tt.change(&in.Options, in)
				in.Cluster.ExportKubeconfig = filepath.Join(e.stateDir, "user-kubeconfig")
			}
			_, ev, err := e.run(false)
			var ie *config.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("run = %v, want *config.InputError", err)
			}
			if !strings.Contains(ie.Msg, tt.wantMsg) || !strings.Contains(ie.Hint, tt.wantHint) {
				t.Errorf("error %q (fix %q), want %q (fix %q)", ie.Msg, ie.Hint, tt.wantMsg, tt.wantHint)
			}
			if ev.outcome(StepCluster) != Failed || ev.outcome(StepTLS) != "" || ev.outcome(StepCoreDNS) != "" {
				t.Errorf("steps after a failed cluster step ran:\n%s", ev.text())
			}
			if objs := e.objects(); len(objs) != 0 {
				t.Errorf("objects recorded: %v", objs)
			}
			for _, f := range []string{"tls", "kubeconfig", "user-kubeconfig"} {
				if _, err := os.Stat(filepath.Join(e.stateDir, f)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s was created", f)
				}
			}
		})
	}
}

// envHost is a machine without engines but with environment variables.
type envHost map[string]string

func (h envHost) Getenv(k string) string { return h[k] }
func (envHost) Output(context.Context, string, ...string) ([]byte, error) {
	return nil, errors.New("no such program")
}
func (envHost) LookPath(f string) (string, error)        { return "", errors.New(f + ": not found") }
func (envHost) Listen(n, a string) (net.Listener, error) { return net.Listen(n, a) }
func (envHost) ReadFile(name string) ([]byte, error)     { return os.ReadFile(name) }
func (envHost) NumCPU() int                              { return 4 }
func (envHost) GOOS() string                             { return "linux" }

// kindEnv is an install on a fake engine whose clusters' kubeconfig points
// at a real API server with a Ready node and CoreDNS.
func kindEnv(t *testing.T, api *testenv.Cluster, eng *clustertest.Engine, trust *fakeTrust) *clusterEnv {
	t.Helper()
	opts := config.Defaults()
	e := &clusterEnv{t: t, stateDir: t.TempDir(), opts: opts}
	e.setup = func(in *Install) {
		in.Cluster.Engine = eng
		in.Cluster.Truster = trust
		in.Cluster.ExportKubeconfig = filepath.Join(e.stateDir, "..", "user-kubeconfig")
		in.Cluster.ReadyTimeout = 10 * time.Second
	}
	return e
}

func readyNode(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	ctx := context.Background()
	n, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// The kind path with a fake engine: create, re-run, recreate after the
// cluster vanished, --trust, down; then a cluster someone else made is
// adopted and kept.
func TestClusterStepsKind(t *testing.T) {
	api := testenv.APIServer(t)
	cs := kube(t, api)
	seedCoreDNS(t, cs)
	readyNode(t, cs, "5min-idp-control-plane")
	server, err := clientcmd.LoadFromFile(api.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	eng := &clustertest.Engine{Server: server}
	trust := &fakeTrust{}
	e := kindEnv(t, api, eng, trust)
	e.opts.Trust = true

	in, ev, err := e.run(false)
	if err != nil {
		t.Fatalf("up: %v\n%s", err, ev.text())
	}
	for _, s := range []string{StepCluster, StepTLS, StepCoreDNS, StepTrust} {
		if k := ev.outcome(s); k != Done {
			t.Errorf("up: %s %s, want done\n%s", s, k, ev.text())
		}
	}
	if !slices.Contains(eng.Calls(), "Create 5min-idp") || !e.hasObject(objKindCluster, "5min-idp") {
		t.Fatalf("cluster not created and recorded: %v %v", eng.Calls(), e.objects())
	}
	if !strings.Contains(string(eng.Config("5min-idp")), "hostPort: 8443") {
		t.Errorf("kind got another config:\n%s", eng.Config("5min-idp"))
	}
	acc, err := in.Kube(context.Background())
	if err != nil || acc.Context != "kind-5min-idp" || acc.IngressAddr != "127.0.0.1:8443" || in.IngressHint() != "" {
		t.Errorf("access = %+v, %v; hint %q", acc, err, in.IngressHint())
	}
	checkTLSSecret(t, cs, e.stateDir, "git.localhost", "5min-idp-control-plane")
	if len(trust.calls) != 1 || !hasKind(e.objects(), objTrustedCA) {
		t.Errorf("trust: calls %v, objects %v", trust.calls, e.objects())
	}

	// Re-run: all skipped; kind is not called to create anything.
	calls := len(eng.Calls())
	if _, ev, err = e.run(false); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{StepCluster, StepTLS, StepCoreDNS, StepTrust} {
		if k := ev.outcome(s); k != Skipped {
			t.Errorf("re-run: %s %s, want skipped\n%s", s, k, ev.text())
		}
	}
	for _, c := range eng.Calls()[calls:] {
		if !strings.HasPrefix(c, "Clusters") && !strings.HasPrefix(c, "Inspect") && !strings.HasPrefix(c, "Kubeconfig") {
			t.Errorf("re-run changed the engine: %s", c)
		}
	}

	// Deleted behind our back: seen from the engine, created again.
	if err := eng.Delete(context.Background(), "5min-idp", in.Cluster.ExportKubeconfig); err != nil {
		t.Fatal(err)
	}
	if _, ev, err = e.run(false); err != nil || ev.outcome(StepCluster) != Done {
		t.Fatalf("after the cluster vanished: %v\n%s", err, ev.text())
	}
	if n := countCalls(eng.Calls(), "Create 5min-idp"); n != 2 {
		t.Errorf("Create called %d times, want 2", n)
	}

	// An earlier run was interrupted half-way: our cluster exists but is
	// broken (its node will not start). It is recreated, not adopted.
	eng.StopNode("5min-idp-control-plane")
	eng.Err = map[string]error{"Start": errors.New("container is marked for removal")}
	if _, ev, err = e.run(false); err != nil || ev.outcome(StepCluster) != Done {
		t.Fatalf("broken own cluster: %v\n%s", err, ev.text())
	}
	if n := countCalls(eng.Calls(), "Create 5min-idp"); n != 3 {
		t.Errorf("Create called %d times, want 3 (recreated)", n)
	}
	eng.Err = nil

	// down: trust removed, cluster deleted (ours); the Secret and the
	// Corefile go with the cluster, so they are not touched one by one.
	secretRV, cmRV := resourceVersions(t, cs)
	if _, ev, err = e.run(true); err != nil {
		t.Fatalf("down: %v\n%s", err, ev.text())
	}
	if ok, _ := eng.Clusters(context.Background()); len(ok) != 0 {
		t.Errorf("clusters after down: %v", ok)
	}
	if trust.calls[len(trust.calls)-1] != "uninstall" {
		t.Errorf("trust calls %v, want a final uninstall", trust.calls)
	}
	if len(e.objects()) != 0 {
		t.Errorf("objects after down: %v", e.objects())
	}
	if s2, c2 := resourceVersions(t, cs); s2 != secretRV || c2 != cmRV {
		t.Error("down edited objects of a cluster it deletes anyway")
	}

	// A cluster of this name that someone else made: adopted, and on down
	// kept, with our Secret and Corefile block taken out of it.
	eng.AddCluster("5min-idp", clusterNode(8443))
	other := kindEnv(t, api, eng, trust)
	if _, ev, err = other.run(false); err != nil {
		t.Fatalf("adopt: %v\n%s", err, ev.text())
	}
	if n := countCalls(eng.Calls(), "Create 5min-idp"); n != 3 {
		t.Errorf("an existing cluster was created again (%d creates)", n)
	}
	if other.hasObject(objKindCluster, "5min-idp") {
		t.Error("an adopted cluster was recorded as ours")
	}
	if _, ev, err = other.run(true); err != nil {
		t.Fatalf("down of an adopted cluster: %v\n%s", err, ev.text())
	}
	if names, _ := eng.Clusters(context.Background()); !slices.Contains(names, "5min-idp") {
		t.Error("down deleted a cluster pocketidp did not create")
	}
	if _, err := cs.CoreV1().Secrets(TLSSecret.Namespace).Get(context.Background(), TLSSecret.Name, metav1.GetOptions{}); err == nil {
		t.Error("TLS Secret left in the adopted cluster")
	}
	cm, _ := cs.CoreV1().ConfigMaps("kube-system").Get(context.Background(), "coredns", metav1.GetOptions{})
	if cm.Data["Corefile"] != kindCorefile {
		t.Errorf("Corefile of the adopted cluster not restored:\n%s", cm.Data["Corefile"])
	}

	// The same cluster asked for on another port: refused with the fix.
	third := kindEnv(t, api, eng, trust)
	third.opts.Port = 9443
	_, _, err = third.run(false)
	var ie *config.InputError
	if !errors.As(err, &ie) || !strings.Contains(ie.Msg, "asks for 127.0.0.1:9443") {
		t.Errorf("other port = %v, want an input error", err)
	}
}

func TestTrustNeverInCoderMode(t *testing.T) {
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, tt := range []struct {
		trust, coder, want bool
	}{{false, false, false}, {true, false, true}, {true, true, false}} {
		opts := config.Defaults()
		opts.Trust, opts.Coder = tt.trust, tt.coder
		in := &Install{Options: opts, Store: st}
		var names []string
		for _, s := range clusterSteps(in) {
			names = append(names, s.Action.Name())
		}
		if got := slices.Contains(names, StepTrust); got != tt.want {
			t.Errorf("trust=%v coder=%v: steps %v", tt.trust, tt.coder, names)
		}
	}
	// An earlier run trusted the CA: `down` without --trust still removes it.
	if err := st.AddObject(objTrustedCA, "abc"); err != nil {
		t.Fatal(err)
	}
	in := &Install{Options: config.Defaults(), Store: st}
	if steps := clusterSteps(in); steps[len(steps)-1].Action.Name() != StepTrust {
		t.Error("trust step missing although this install trusted its CA")
	}
}

func hasKind(objs []state.Object, kind string) bool {
	return slices.ContainsFunc(objs, func(o state.Object) bool { return o.Kind == kind })
}

func countCalls(calls []string, c string) int {
	n := 0
	for _, x := range calls {
		if x == c {
			n++
		}
	}
	return n
}

// clientcmdapiConfig is a kubeconfig whose only context is name.
func clientcmdapiConfig(name string) *clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: "t"}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	return cfg
}

// tlsPair checks that certificate and key belong together and returns the
// certificate.
func tlsPair(certPEM, keyPEM []byte) (*x509.Certificate, error) {
	pair, err := cryptotls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(pair.Certificate[0])
}

// clusterNode is a running node publishing the ingress on port.
func clusterNode(port int) cluster.Container {
	return cluster.Container{Running: true, Ports: map[int][]cluster.HostPort{30443: {{IP: "127.0.0.1", Port: port}}}}
}

// BenchmarkClusterStepsNoop is a re-run of the cluster steps on a finished
// install into an existing cluster: the cluster checked, certificate and
// CoreDNS found as wanted, nothing written.
func BenchmarkClusterStepsNoop(b *testing.B) {
	api := testenv.APIServer(b)
	seedCoreDNS(b, kube(b, api))
	opts := config.Defaults()
	opts.Kubeconfig, opts.Context = api.KubeconfigPath, testenv.KubeContext
	e := &clusterEnv{t: b, stateDir: b.TempDir(), opts: opts}
	if _, _, err := e.run(false); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_, ev, err := e.run(false)
		if err != nil || ev.outcome(StepTLS) != Skipped || ev.outcome(StepCoreDNS) != Skipped {
			b.Fatalf("re-run: %v\n%s", err, ev.text())
		}
	}
}

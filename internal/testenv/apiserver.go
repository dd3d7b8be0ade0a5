package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// APIServerOptions configures StartAPIServer. The zero value is ready to use.
type APIServerOptions struct {
	// Binaries to run; zero means LoadBinaries.
	Binaries Binaries
	// Dir holds certificates, keys, etcd's data, logs and the kubeconfig.
	// Empty means a new temporary folder, removed by Stop.
	Dir string
	// StartTimeout bounds the wait for each server; zero means 2 minutes
	// (~4 s on an idle machine, much longer when the cores are shared).
	StartTimeout time.Duration
}

// Cluster is a Kubernetes API server with its etcd, on loopback. There is
// no kubelet, scheduler or controller-manager: objects are stored and read
// back, pods never run. A stand-in for the namespace controller runs with
// it (namespace_controller.go), so a deleted namespace is emptied and goes
// away, and its name can be used again.
type Cluster struct {
	URL            string // https://127.0.0.1:<port>
	Token          string // bearer token of an admin in system:masters
	CAData         []byte // PEM the serving certificate verifies against
	KubeconfigPath string // kubeconfig with context KubeContext
	Dir            string
	// EtcdReadyIn and ReadyIn are the start-up times of etcd and of the
	// whole cluster (etcd included).
	EtcdReadyIn time.Duration
	ReadyIn     time.Duration

	ownsDir bool
	etcd    *etcdServer
	proc    *process
	// namespaces finishes namespace deletions; nil until started.
	namespaces *namespaceController
}

// KubeContext is the context (and cluster and user) name in the kubeconfig
// a Cluster writes.
const KubeContext = "testenv"

// APIServer starts an API server for the test and stops it in t.Cleanup.
// Tests in a package can share one with SharedAPIServer instead.
func APIServer(t testing.TB) *Cluster {
	t.Helper()
	bin := RequireBinaries(t)
	c, err := StartAPIServer(context.Background(), APIServerOptions{Binaries: bin, Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("testenv: %v", err)
		}
	})
	c.logTimes(t)
	return c
}

func (c *Cluster) logTimes(t testing.TB) {
	t.Helper()
	t.Logf("testenv: API server %s ready in %s (etcd %s)", c.URL,
		c.ReadyIn.Round(time.Millisecond), c.EtcdReadyIn.Round(time.Millisecond))
}

// StartAPIServer starts etcd and then kube-apiserver, writes a kubeconfig
// for them and starts the namespace controller stand-in. Stop stops all
// three.
func StartAPIServer(ctx context.Context, opts APIServerOptions) (_ *Cluster, err error) {
	bin := opts.Binaries
	if bin.KubeAPIServer == "" {
		if bin, err = LoadBinaries(); err != nil {
			return nil, fmt.Errorf("start api server: %w", err)
		}
	}
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	c := &Cluster{Dir: opts.Dir}
	if c.Dir == "" {
		if c.Dir, err = os.MkdirTemp("", "testenv-kube-"); err != nil {
			return nil, fmt.Errorf("start api server: %w", err)
		}
		c.ownsDir = true
	}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()

	began := time.Now()
	// The key and token do not depend on etcd: make them while it starts.
	type files struct {
		tokenFile, saKeyFile string
		err                  error
	}
	filesCh := make(chan files, 1)
	go func() {
		var f files
		c.Token, f.tokenFile, f.saKeyFile, f.err = writeAuthFiles(c.Dir)
		filesCh <- f
	}()
	c.etcd, err = startEtcd(ctx, bin.Etcd, c.Dir, timeout)
	f := <-filesCh
	if err != nil {
		return nil, fmt.Errorf("start api server: %w", err)
	}
	if f.err != nil {
		return nil, fmt.Errorf("start api server: %w", f.err)
	}
	c.EtcdReadyIn = c.etcd.readyIn

	if err := c.startAPIServer(ctx, bin.KubeAPIServer, f.tokenFile, f.saKeyFile, timeout); err != nil {
		return nil, fmt.Errorf("start api server: %w", err)
	}
	if c.KubeconfigPath, err = writeKubeconfig(c.Dir, c.URL, c.CAData, c.Token); err != nil {
		return nil, fmt.Errorf("start api server: %w", err)
	}
	c.namespaces, err = startNamespaceController(ctx, c.RESTConfig(), filepath.Join(c.Dir, "namespace-controller.log"), timeout)
	if err != nil {
		return nil, fmt.Errorf("start api server: %w", err)
	}
	c.ReadyIn = time.Since(began)
	return c, nil
}

// startAPIServer starts kube-apiserver, on a new port if it loses its first
// one to another process.
func (c *Cluster) startAPIServer(ctx context.Context, bin, tokenFile, saKeyFile string, timeout time.Duration) error {
	return onFreePorts(func() error {
		return c.startAPIServerOnce(ctx, bin, tokenFile, saKeyFile, timeout)
	})
}

func (c *Cluster) startAPIServerOnce(ctx context.Context, bin, tokenFile, saKeyFile string, timeout time.Duration) error {
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	c.URL = "https://" + loopbackAddr(ports[0])
	certDir := filepath.Join(c.Dir, "apiserver-certs")
	p, err := startProcess("kube-apiserver", filepath.Join(c.Dir, "kube-apiserver.log"), nil, bin,
		"--etcd-servers="+c.etcd.url,
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(ports[0]),
		// The API server makes its own self-signed serving certificate here.
		"--cert-dir="+certDir,
		// Without a default route the server cannot pick an address, and the
		// lease endpoint reconciler rejects loopback.
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none",
		"--token-auth-file="+tokenFile,
		"--authorization-mode=RBAC",
		// No controller-manager creates default ServiceAccounts, so the
		// admission plugin that requires them would refuse every pod. Nor
		// does its pvc-protection controller remove the finalizer
		// StorageObjectInUseProtection puts on each PVC once no pod uses
		// it (none ever runs here): a chart's PVC (Gitea's) would hold
		// its namespace Terminating for ever after `down`.
		"--disable-admission-plugins=ServiceAccount,StorageObjectInUseProtection",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+saKeyFile,
		"--service-account-signing-key-file="+saKeyFile,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
	)
	if err != nil {
		return err
	}
	c.proc = p
	// The certificate appears a moment after start; until then the readiness
	// check fails and is retried like any other not-ready answer.
	check := func(ctx context.Context) error {
		// Read until it parses: a read while the server writes the file
		// finds it empty or cut, and keeping that would fail every check.
		data := c.CAData
		if data == nil {
			var err error
			if data, err = os.ReadFile(filepath.Join(certDir, "apiserver.crt")); err != nil {
				return err
			}
		}
		client, err := caClient(data)
		if err != nil {
			return err
		}
		c.CAData = data
		header := http.Header{"Authorization": {"Bearer " + c.Token}}
		return httpCheck(client, c.URL+"/readyz", header)(ctx)
	}
	return waitReady(ctx, p, timeout, check)
}

// caClient trusts only the API server's own certificate file, which holds
// the serving certificate followed by the CA that signed it.
func caClient(caPEM []byte) (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no certificates in the API server's certificate file")
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, nil
}

// RESTConfig returns a new client-go config for the admin user; callers may
// change it freely.
func (c *Cluster) RESTConfig() *rest.Config {
	return &rest.Config{
		Host:            c.URL,
		BearerToken:     c.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), c.CAData...)},
		// Tests create objects in bursts; client-side throttling only adds
		// waiting.
		QPS:   100,
		Burst: 200,
	}
}

// Clientset returns a typed client for the admin user.
func (c *Cluster) Clientset() (*kubernetes.Clientset, error) {
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return cs, nil
}

// Stop stops the namespace controller, the API server and then etcd (the
// other way round the API server hangs for seconds retrying etcd, and the
// controller's watch would retry the API server), and removes the folder if
// StartAPIServer created it.
func (c *Cluster) Stop() error {
	var errs []error
	c.namespaces.stop()
	if c.proc != nil {
		// A short grace: kube-apiserver drains its watches for up to a
		// minute before it exits on SIGTERM, and nothing here needs that
		// (every write is in etcd once answered), so a package's tests
		// would end ~15 s later for nothing.
		if err := c.proc.stop(2 * time.Second); err != nil {
			errs = append(errs, fmt.Errorf("stop kube-apiserver: %w", err))
		}
	}
	if err := c.etcd.stop(); err != nil {
		errs = append(errs, err)
	}
	if c.ownsDir {
		if err := os.RemoveAll(c.Dir); err != nil {
			errs = append(errs, fmt.Errorf("remove api server folder: %w", err))
		}
	}
	return errors.Join(errs...)
}

// LogTail returns the last n lines of the API server's log.
func (c *Cluster) LogTail(n int) string {
	return tailFile(filepath.Join(c.Dir, "kube-apiserver.log"), n)
}

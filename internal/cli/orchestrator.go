package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/orchestrator"
	"github.com/pocketidp/pocketidp/internal/secret"
)

// Defaults of `pocketidp orchestrator serve`.
const (
	orchestratorListen       = ":8080"
	orchestratorReadyTimeout = 5 * time.Minute
	// saNamespaceFile is where a pod finds its own namespace.
	saNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
	shutdownGrace   = 10 * time.Second
)

type orchestratorFlags struct {
	listen, tlsListen, org, tokenFile, stateNamespace, domain, issuerDir string
	hostAliases                                                          []string
	readyTimeout                                                         time.Duration
	ingressPort                                                          int
	noCluster                                                            bool
}

// orchestratorCommand is the hidden `pocketidp orchestrator serve`: the
// local orchestrator as it runs in the cluster (the pocketidp binary is
// its image).
func (a *app) orchestratorCommand() *cobra.Command {
	var f orchestratorFlags
	cmd := &cobra.Command{Use: "orchestrator", Short: "PocketIDP's local orchestrator", Hidden: true, Args: cobra.NoArgs}
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve the part of Humanitec's Platform Orchestrator API the course uses, and deploy into this cluster",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.runOrchestratorServe(cmd, f) },
	}
	fl := serve.Flags()
	fl.StringVar(&f.listen, "listen", orchestratorListen, "address the API listens on (plain HTTP; the ingress terminates TLS)")
	fl.StringVar(&f.tlsListen, "tls-listen", "", "also serve HTTPS here, with a self-signed certificate for api.humanitec.io (for deployed pods)")
	fl.StringVar(&f.org, "org", "", "the one org served")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the one bearer token accepted")
	fl.StringVar(&f.stateNamespace, "state-namespace", "", "namespace of the ConfigMaps and Secrets holding the state (default: the pod's own)")
	fl.StringVar(&f.domain, "domain", orchestrator.DefaultDomain, "domain dns resources get hosts under")
	fl.StringVar(&f.issuerDir, "issuer-dir", "", "folder with the intermediate CA (tls.crt, tls.key) that gives app hosts their certificates")
	fl.StringArrayVar(&f.hostAliases, "host-alias", nil, "IP=host given to every deployed pod's /etc/hosts (repeatable)")
	fl.DurationVar(&f.readyTimeout, "ready-timeout", orchestratorReadyTimeout, "how long a deployment waits for its workloads to be ready (0: do not wait)")
	fl.IntVar(&f.ingressPort, "ingress-port", 0, "host port of the ingress, for the app URLs on the status page (default 8443)")
	fl.BoolVar(&f.noCluster, "no-cluster", false, "serve the API alone with its state in memory and deploy nothing (to try clients)")
	serve.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	cmd.AddCommand(serve)
	return cmd
}

func (a *app) runOrchestratorServe(cmd *cobra.Command, f orchestratorFlags) error {
	ctx := cmd.Context()
	if f.org == "" || f.tokenFile == "" {
		return &config.InputError{Msg: "the orchestrator needs --org and --token-file", Hint: "give the org id and a file holding the token (`up` makes both)"}
	}
	b, err := os.ReadFile(f.tokenFile)
	if err != nil {
		return &config.InputError{Msg: fmt.Sprintf("read --token-file: %v", err), Hint: "mount the orchestrator's token Secret there"}
	}
	token := secret.New(string(b))
	a.redactor.Add(token)
	log := slog.New(slog.NewJSONHandler(a.redactor.Writer(a.env.Stderr), &slog.HandlerOptions{Level: slog.LevelInfo}))
	aliases, err := parseHostAliases(f.hostAliases)
	if err != nil {
		return err
	}

	cfg := orchestrator.Config{Org: f.org, Token: token, Logger: log, IngressPort: f.ingressPort}
	if !f.noCluster {
		rc, err := a.kubeConfig()
		if err != nil {
			return err
		}
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return err
		}
		ns := f.stateNamespace
		if ns == "" {
			b, err := os.ReadFile(saNamespaceFile)
			if err != nil {
				return &config.InputError{Msg: "no --state-namespace, and not running in a pod", Hint: "give --state-namespace (it must exist)"}
			}
			ns = strings.TrimSpace(string(b))
		}
		cfg.Store = orchestrator.NewKubeStore(cs, ns)
		ecfg := orchestrator.EngineConfig{Domain: f.domain, HostAliases: aliases, ReadyTimeout: f.readyTimeout, Logger: log}
		if f.issuerDir != "" {
			crt, err1 := os.ReadFile(filepath.Join(f.issuerDir, corev1.TLSCertKey))
			key, err2 := os.ReadFile(filepath.Join(f.issuerDir, corev1.TLSPrivateKeyKey))
			if err := errors.Join(err1, err2); err != nil {
				return &config.InputError{Msg: "read --issuer-dir: " + err.Error(), Hint: "mount the issuer Secret there, or leave --issuer-dir out"}
			}
			if ecfg.Issuer, err = orchestrator.LoadIssuer(crt, key); err != nil {
				return err
			}
		}
		eng, err := orchestrator.NewEngine(rc, ecfg)
		if err != nil {
			return err
		}
		cfg.Deployer = eng
	}
	srv, err := orchestrator.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	hs := &http.Server{Addr: f.listen, Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another orchestrator running? choose another --listen)", f.listen, err)
	}
	log.Info("PocketIDP's local orchestrator serving", "address", ln.Addr().String(), "org", f.org, "in_cluster", !f.noCluster)
	done := make(chan error, 2)
	go func() { done <- hs.Serve(ln) }()
	var hts *http.Server
	if f.tlsListen != "" {
		tc, err := orchestrator.SelfSignedTLS(orchestrator.HumanitecAPIHost, orchestrator.HostName)
		if err != nil {
			return err
		}
		hts = &http.Server{Addr: f.tlsListen, Handler: srv, ReadHeaderTimeout: 10 * time.Second, TLSConfig: tc}
		tln, err := net.Listen("tcp", f.tlsListen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w (choose another --tls-listen)", f.tlsListen, err)
		}
		go func() { done <- hts.ServeTLS(tln, "", "") }()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		err := hs.Shutdown(sctx)
		if hts != nil {
			err = errors.Join(err, hts.Shutdown(sctx))
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// kubeConfig is the cluster to deploy into: --kubeconfig/--context when
// given, else the pod's own service account, else the default kubeconfig.
func (a *app) kubeConfig() (*rest.Config, error) {
	if a.flags.kubeconfig == "" && a.flags.kubeContext == "" {
		if rc, err := rest.InClusterConfig(); err == nil {
			return rc, nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if a.flags.kubeconfig != "" {
		rules.ExplicitPath = a.flags.kubeconfig
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: a.flags.kubeContext}).ClientConfig()
	if err != nil {
		return nil, &config.InputError{Msg: fmt.Sprintf("no cluster to deploy into: %v", err), Hint: "run it in the cluster, give --kubeconfig, or use --no-cluster"}
	}
	return rc, nil
}

func parseHostAliases(in []string) ([]corev1.HostAlias, error) {
	var out []corev1.HostAlias
	for _, s := range in {
		ip, host, ok := strings.Cut(s, "=")
		if !ok || net.ParseIP(ip) == nil || host == "" {
			return nil, &config.InputError{Msg: fmt.Sprintf("--host-alias %q is not IP=host", s), Hint: "e.g. --host-alias 10.96.0.20=api.humanitec.io"}
		}
		out = append(out, corev1.HostAlias{IP: ip, Hostnames: []string{host}})
	}
	return out, nil
}

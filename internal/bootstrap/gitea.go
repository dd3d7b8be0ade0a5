package bootstrap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/pocketidp/pocketidp/internal/gitea"
)

// Gitea step names (StepRunnerToken, "gitea/runner-token", is in charts.go
// beside the runner chart that uses its token).
const (
	StepGiteaReady         = "gitea/ready"
	StepGiteaOrg           = "gitea/org"
	StepGiteaBackstageRepo = "gitea/backstage-repo"
	StepGiteaActions       = "gitea/actions-config"
	StepGiteaTrigger       = "gitea/trigger"
)

// GiteaInput is how the Gitea steps reach Gitea.
type GiteaInput struct {
	// URL is Gitea as this process reaches it; empty means
	// Options.GiteaURL(), through the ingress.
	URL string
	// HTTPClient carries every request to Gitea, git pushes included. Nil
	// means a client that trusts PocketIDP's CA and dials *.localhost on
	// the ingress's listen address.
	HTTPClient *http.Client
	// ReadyTimeout bounds each wait for Gitea to answer; zero means
	// gitea.DefaultReadyTimeout.
	ReadyTimeout time.Duration
}

// giteaSteps seed Gitea. gitea/ready waits for Gitea (the plan makes it need
// the Gitea chart and the ingress); the org comes next, then the Backstage
// repository beside the Actions settings, while the runner token only needs
// Gitea. gitea/trigger needs the repository and the settings (the plan adds
// the runner and the Humanitec registrations: the build deploys there).
func giteaSteps(in *Install) []Step {
	return []Step{
		{Action: giteaReady{in}, Timeout: gitea.DefaultReadyTimeout + time.Minute},
		// The public org 5minorg; its Undo runs after those of the
		// repository and the Actions settings, which need it.
		{Action: giteaRemovable{giteaStep{in, StepGiteaOrg, (*gitea.Seeder).OrgDone, (*gitea.Seeder).EnsureOrg},
			(*gitea.Seeder).RemoveOrg, true}, Timeout: 3 * time.Minute},
		// The Backstage repository, migrated (or the offline copy pushed);
		// a migration from GitHub over a slow line takes minutes.
		{Action: giteaRemovable{giteaStep{in, StepGiteaBackstageRepo, (*gitea.Seeder).RepoDone, (*gitea.Seeder).EnsureBackstageRepo},
			(*gitea.Seeder).RemoveBackstageRepo, false}, Timeout: 15 * time.Minute},
		// The org's Actions variables and HUMANITEC_TOKEN secret, writing
		// only what changed.
		{Action: giteaRemovable{giteaStep{in, StepGiteaActions, (*gitea.Seeder).ActionsConfigDone, (*gitea.Seeder).EnsureActionsConfig},
			(*gitea.Seeder).RemoveActionsConfig, false}, Timeout: 3 * time.Minute},
		{Action: giteaRunnerToken{in}, Timeout: 3 * time.Minute},
		// The commit that starts the first Backstage build, once per
		// install.
		{Action: giteaStep{in, StepGiteaTrigger, (*gitea.Seeder).TriggerDone, (*gitea.Seeder).Trigger}, Timeout: 3 * time.Minute},
	}
}

// giteaSeeder is the seeding of this install's Gitea, reporting through the
// step.
func (in *Install) giteaSeeder() (*gitea.Seeder, error) {
	return in.newGiteaSeeder(in.Gitea.ReadyTimeout)
}

// undoReadyTimeout bounds the wait for Gitea during `down`: Gitea is long
// up by then, and a user who took it away should hear so in a minute, not
// in five.
const undoReadyTimeout = time.Minute

// giteaUndoSeeder is giteaSeeder for an Undo.
func (in *Install) giteaUndoSeeder() (*gitea.Seeder, error) {
	wait := in.Gitea.ReadyTimeout
	if wait <= 0 || wait > undoReadyTimeout {
		wait = undoReadyTimeout
	}
	return in.newGiteaSeeder(wait)
}

func (in *Install) newGiteaSeeder(readyTimeout time.Duration) (*gitea.Seeder, error) {
	cfg := gitea.ConfigFromOptions(in.Options)
	if in.Options.LocalOrchestrator() {
		// The org variables and the token secret name the local
		// orchestrator's org and token (orchestrator/credentials).
		cfg.HumanitecOrg, cfg.HumanitecToken, _, _ = in.LocalOrchestratorAccess()
	}
	cfg.URL = in.Gitea.URL
	if cfg.URL == "" {
		cfg.URL = in.Options.GiteaURL()
	}
	hc, err := in.giteaHTTPClient()
	if err != nil {
		return nil, err
	}
	cfg.HTTPClient = hc
	cfg.ReadyTimeout = readyTimeout
	return gitea.New(cfg, in.Store), nil
}

// giteaHTTPClient is GiteaInput.HTTPClient, or else the ingress client.
func (in *Install) giteaHTTPClient() (*http.Client, error) {
	if in.Gitea.HTTPClient != nil {
		return in.Gitea.HTTPClient, nil
	}
	return in.IngressClient()
}

// IngressClient reaches the apps through the ingress: it trusts
// PocketIDP's CA (as the tls step left it in the state dir) and sends *.localhost to the address the ingress listens on, since not
// every resolver maps those names to loopback. Proxies are bypassed: the
// ingress is local.
func (in *Install) IngressClient() (*http.Client, error) {
	caPEM := in.caCertPEM()
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if len(caPEM) > 0 && !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("PocketIDP's CA certificate in %s is not valid PEM", in.tlsStore().Dir)
	}
	target := in.Options.ListenAddress
	if ip := net.ParseIP(target); ip == nil || ip.IsUnspecified() {
		target = "127.0.0.1"
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
			addr = net.JoinHostPort(target, port)
		}
		return dialer.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: tr}, nil
}

// giteaReady waits for Gitea and checks the admin credentials. It has no
// Done: it is the check.
type giteaReady struct{ in *Install }

func (giteaReady) Name() string { return StepGiteaReady }

func (s giteaReady) Run(ctx context.Context, sc *StepContext) error {
	g, err := s.in.giteaSeeder()
	if err != nil {
		return err
	}
	return g.WaitReady(ctx)
}

// giteaStep is one operation of the Seeder as a step: done and run are
// its methods (e.g. (*gitea.Seeder).OrgDone and EnsureOrg).
type giteaStep struct {
	in   *Install
	name string
	done func(*gitea.Seeder, context.Context) (bool, error)
	run  func(*gitea.Seeder, context.Context) error
}

func (s giteaStep) Name() string { return s.name }

func (s giteaStep) Done(ctx context.Context, sc *StepContext) (bool, error) {
	g, err := s.in.giteaSeeder()
	if err != nil {
		return false, err
	}
	return s.done(g, ctx)
}

func (s giteaStep) Run(ctx context.Context, sc *StepContext) error {
	g, err := s.in.giteaSeeder()
	if err != nil {
		return err
	}
	return s.run(g, ctx)
}

// giteaRemovable is a giteaStep that `down` takes back with remove. When
// Gitea goes with the kind cluster, nothing is asked of it: forget, when
// set, drops the state's records instead (the org's step does, for all).
type giteaRemovable struct {
	giteaStep
	remove func(*gitea.Seeder, context.Context) error
	forget bool
}

func (s giteaRemovable) Undo(ctx context.Context, sc *StepContext) error {
	if s.in.clusterGoes() && !s.forget {
		return nil
	}
	g, err := s.in.giteaUndoSeeder()
	if err != nil {
		return err
	}
	if s.in.clusterGoes() {
		sc.Logger().Info("Gitea's content goes with the cluster")
		return g.Forget()
	}
	return s.remove(g, ctx)
}

// giteaRunnerToken gets a runner registration token into
// runnerToken's output for the runner chart. Done when a runner is
// registered: then the token is not needed (and the output stays empty).
type giteaRunnerToken struct{ in *Install }

func (giteaRunnerToken) Name() string { return StepRunnerToken }

func (s giteaRunnerToken) Done(ctx context.Context, sc *StepContext) (bool, error) {
	g, err := s.in.giteaSeeder()
	if err != nil {
		return false, err
	}
	return g.RunnerRegistered(ctx)
}

func (s giteaRunnerToken) Run(ctx context.Context, sc *StepContext) error {
	g, err := s.in.giteaSeeder()
	if err != nil {
		return err
	}
	t, err := g.RunnerToken(ctx)
	if err != nil {
		return err
	}
	return runnerToken.Set(sc, t)
}

// Package gitea seeds the Gitea of an install with what the course needs:
// the admin's org 5minorg, the Backstage repository migrated into it, the
// org's Actions variables and secret, a runner registration token and the
// commit that triggers the first Backstage build. Every operation reads the
// real Gitea first and writes only what differs, so a re-run converges
// without a single write call; everything the install creates is recorded
// in the state so that undo removes exactly that.
//
// It talks to Gitea through code.gitea.io/sdk/gitea over the HTTP client it
// is given (the product reaches Gitea through the ingress with its local CA;
// tests use a plain http URL) and pushes with go-git over the same client.
package gitea

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/secret"
	pkitls "github.com/pocketidp/pocketidp/internal/tls"
)

// Kinds of the objects recorded in the state.
const (
	KindOrg         = "gitea/org"          // id: org name
	KindRepo        = "gitea/repo"         // id: owner/name
	KindOrgVariable = "gitea/org-variable" // id: org/NAME
	KindOrgSecret   = "gitea/org-secret"   // id: org/NAME
)

// Keys of the facts recorded in the state.
const (
	KeyBackstageCommit = "gitea/backstage-commit" // the commit the repository arrived at
	KeyBackstageSource = "gitea/backstage-source" // where that content came from
	KeyTriggerCommit   = "gitea/trigger-commit"   // the commit that triggered the first build
	// KeyTokenFingerprint is the salted fingerprint of the HUMANITEC_TOKEN
	// last written: Gitea never returns secret values, so this is the only
	// way to tell whether the secret needs writing again.
	KeyTokenFingerprint = "gitea/humanitec-token-fingerprint"
)

// Names the course relies on.
const (
	DefaultRepo      = "backstage"
	VarCloudProvider = "CLOUD_PROVIDER"
	VarHumanitecOrg  = "HUMANITEC_ORG_ID"
	VarHumanitecApp  = "HUMANITEC_APP_ID"
	SecretToken      = "HUMANITEC_TOKEN"
	CloudProvider    = "5min"
)

// DefaultReadyTimeout bounds the wait for Gitea to answer.
const DefaultReadyTimeout = 5 * time.Minute

// BackstageAppID is the Humanitec app the Backstage workflow deploys to.
func BackstageAppID(installID string) string { return config.BackstageAppID(installID) }

// Config is what the seeding needs to know.
type Config struct {
	// URL is Gitea's base URL as this process reaches it.
	URL string
	// HTTPClient carries every request, git pushes included; nil means
	// http.DefaultClient.
	HTTPClient *http.Client
	Admin      string
	Password   secret.Value
	// Org and Repo default to 5minorg and backstage.
	Org  string
	Repo string
	// Source is the repository migrated into Org/Repo (default
	// config.DefaultBackstageRepo); Ref, when set, is the branch, tag or
	// commit the default branch is set to.
	Source string
	Ref    string
	// OfflineSource is a local clone or git bundle pushed instead when
	// Gitea cannot migrate from Source.
	OfflineSource string
	// HumanitecOrg empty means Humanitec is skipped: no HUMANITEC_*
	// variables, no secret, no trigger commit.
	HumanitecOrg   string
	HumanitecToken secret.Value
	// ReadyTimeout bounds each wait for Gitea to answer; zero means
	// DefaultReadyTimeout.
	ReadyTimeout time.Duration
}

// ConfigFromOptions maps an install's options onto a Config. URL and
// HTTPClient are left for the caller: they depend on how this process
// reaches Gitea.
func ConfigFromOptions(o config.Options) Config {
	c := Config{
		Admin:         o.GiteaAdmin,
		Password:      o.GiteaAdminPassword,
		Org:           config.DefaultGiteaOrg,
		Repo:          DefaultRepo,
		Source:        o.BackstageRepo,
		Ref:           o.SourceRef(),
		OfflineSource: o.BackstageSource,
	}
	if !o.SkipHumanitec {
		c.HumanitecOrg = o.HumanitecOrg
		c.HumanitecToken = o.HumanitecToken
	}
	return c
}

// Store is the part of the state the seeding uses; *state.Store is one.
type Store interface {
	InstallID() string
	AddObject(kind, id string) error
	RemoveObject(kind, id string) error
	HasObject(kind, id string) bool
	SetValue(key, value string) error
	Value(key string) string
}

// Seeder seeds one Gitea. It is cheap to make: nothing is contacted until a
// method is called, and every method takes its own context.
type Seeder struct {
	cfg      Config
	store    Store
	log      *slog.Logger
	progress func(current, total int, msg string)
}

// New returns a Seeder. log and progress may be nil.
func New(cfg Config, store Store, log *slog.Logger, progress func(current, total int, msg string)) *Seeder {
	if cfg.Org == "" {
		cfg.Org = config.DefaultGiteaOrg
	}
	if cfg.Repo == "" {
		cfg.Repo = DefaultRepo
	}
	if cfg.Source == "" {
		cfg.Source = config.DefaultBackstageRepo
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = DefaultReadyTimeout
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	cfg.URL = strings.TrimSuffix(cfg.URL, "/")
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if progress == nil {
		progress = func(int, int, string) {}
	}
	return &Seeder{cfg: cfg, store: store, log: log, progress: progress}
}

// RepoFullName is owner/name of the Backstage repository.
func (s *Seeder) RepoFullName() string { return s.cfg.Org + "/" + s.cfg.Repo }

// ConflictError is a Gitea object in the way that PocketIDP did not create
// and will not touch: the user has to decide. Fix names what to do.
type ConflictError struct {
	Msg  string
	Hint string
}

func (e *ConflictError) Error() string { return e.Msg + " (fix: " + e.Hint + ")" }

// Fix is what the user should do about it.
func (e *ConflictError) Fix() string { return e.Hint }

// probeTimeout bounds one attempt to reach Gitea, so that a server that
// accepts connections but does not answer (mid-restart) costs one attempt,
// not the whole wait.
const probeTimeout = 10 * time.Second

// connect waits until Gitea answers, with backoff and bounded by
// ReadyTimeout, and returns a client signed in as the admin whose requests
// use ctx. The SDK's NewClient asks the server for its version, so making
// the client is the readiness probe.
func (s *Seeder) connect(ctx context.Context) (*sdk.Client, error) {
	deadline := time.Now().Add(s.cfg.ReadyTimeout)
	delay := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		c, err := sdk.NewClient(s.cfg.URL,
			sdk.SetHTTPClient(s.cfg.HTTPClient),
			sdk.SetContext(pctx),
			sdk.SetUserAgent("pocketidp"),
		)
		cancel()
		if err == nil {
			// The version is cached in the client: later calls do not ask
			// again. From here on requests carry the caller's context.
			c.SetContext(ctx)
			c.SetBasicAuth(s.cfg.Admin, s.cfg.Password.Reveal())
			if attempt > 1 {
				s.log.Info("Gitea answers", "url", s.cfg.URL, "attempts", attempt)
			}
			return c, nil
		}
		if perr := s.permanent(err); perr != nil {
			return nil, perr
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("wait for Gitea at %s: %w (last answer: %v)", s.cfg.URL, ctx.Err(), err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, fmt.Errorf("Gitea at %s did not answer within %s (%d attempts; last answer: %v)",
				s.cfg.URL, s.cfg.ReadyTimeout, attempt, err)
		}
		if attempt == 1 {
			s.log.Info("waiting for Gitea", "url", s.cfg.URL, "answer", err.Error())
		}
		s.progress(attempt, 0, "waiting for Gitea at "+s.cfg.URL)
		t := time.NewTimer(min(delay, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait for Gitea at %s: %w (last answer: %v)", s.cfg.URL, ctx.Err(), err)
		case <-t.C:
		}
		delay = min(delay*2, 5*time.Second)
	}
}

// permanent returns the error to stop waiting with, or nil when the failure
// may pass (connection refused, a 502 from the ingress while the pod
// starts, a timeout).
func (s *Seeder) permanent(err error) error {
	if pkitls.IsCertificateError(err) {
		return &config.InputError{
			Msg:  fmt.Sprintf("Gitea at %s presents a certificate this client does not trust: %v", s.cfg.URL, err),
			Hint: "reach Gitea through the PocketIDP ingress, whose certificate is signed by the CA in the state dir",
		}
	}
	if errors.Is(err, &sdk.ErrUnknownVersion{}) {
		return fmt.Errorf("Gitea at %s answers with a version the client cannot read (%v): it is not a released Gitea build", s.cfg.URL, err)
	}
	return nil
}

// WaitReady waits until Gitea answers and checks that the admin credentials
// work and belong to a site admin.
func (s *Seeder) WaitReady(ctx context.Context) error {
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	u, resp, err := c.GetMyUserInfo()
	if err != nil {
		return s.apiError("check the Gitea admin credentials", resp, err)
	}
	if !u.IsAdmin {
		return &config.InputError{
			Msg:  fmt.Sprintf("Gitea user %s at %s is not a site administrator", s.cfg.Admin, s.cfg.URL),
			Hint: "give PocketIDP the credentials of a Gitea admin (the default is 5minadmin)",
		}
	}
	ver, _, _ := c.ServerVersion()
	s.log.Info("Gitea answers; admin credentials work", "url", s.cfg.URL, "version", ver, "admin", s.cfg.Admin)
	return nil
}

func statusOf(resp *sdk.Response) int {
	if resp == nil || resp.Response == nil {
		return 0
	}
	return resp.StatusCode
}

func isNotFound(resp *sdk.Response) bool { return statusOf(resp) == http.StatusNotFound }

// apiError wraps err with what was being done; a 401 becomes the
// wrong-password input error wherever it happens.
func (s *Seeder) apiError(what string, resp *sdk.Response, err error) error {
	switch statusOf(resp) {
	case http.StatusUnauthorized:
		return s.badPassword(what, err)
	case http.StatusForbidden:
		return &config.InputError{
			Msg:  fmt.Sprintf("Gitea at %s refused admin %s: %v (%s)", s.cfg.URL, s.cfg.Admin, err, what),
			Hint: fmt.Sprintf("sign in to %s as %s once and clear what Gitea asks for (e.g. a password change), or use another admin", s.cfg.URL, s.cfg.Admin),
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// badPassword is the input error for credentials Gitea rejected.
func (s *Seeder) badPassword(what string, err error) error {
	return &config.InputError{
		Msg: fmt.Sprintf("Gitea at %s rejected the password of admin %s (%s: %v)", s.cfg.URL, s.cfg.Admin, what, err),
		Hint: fmt.Sprintf("set GITEA_ADMIN_PASSWORD (or --gitea-admin-password-file) to the admin password this Gitea was set up with, or reset it in the Gitea pod with "+
			"`gitea admin user change-password --username %s --password <password>`", s.cfg.Admin),
	}
}

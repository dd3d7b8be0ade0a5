// Package config holds the options of one PocketIDP install: what the user
// chose with flags and environment, the defaults, and their validation.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/pocketidp/pocketidp/internal/secret"
)

// Defaults of the course setup: names and ports the tutorial text relies on.
const (
	DefaultName          = "5min-idp"
	DefaultPort          = 8443
	DefaultListenAddress = "127.0.0.1"
	DefaultAPIURL        = "https://api.humanitec.io"
	DefaultGiteaAdmin    = "5minadmin"
	DefaultGiteaOrg      = "5minorg"
	DefaultBackstageRepo = "https://github.com/humanitec-architecture/backstage.git"
	// DefaultBackstageRef pins DefaultBackstageRepo: the head of its main
	// branch on 2025-12-02 ("Add deprecation notice to README"), the last
	// commit before the repository was deprecated. Every install builds the
	// same Backstage, whatever upstream does next.
	DefaultBackstageRef = "e24331312f5d1f52b22489d19a8fcf3c7118ec6a"
	DefaultTimeout      = 30 * time.Minute
	// DefaultWaitTimeout bounds --wait: building the Backstage image alone
	// takes 10–15 minutes on a laptop.
	DefaultWaitTimeout = 40 * time.Minute
	EnvType            = "5min-local"
	// RegistryPort is the image registry's port: on the kind node, in CI
	// jobs (both as localhost:5001, the name the upstream Backstage
	// workflow pushes to) and on the host, as the course and kind's
	// local-registry guide publish it.
	RegistryPort = 5001
	// IngressClass is the cluster's IngressClass, Traefik's: Gitea's
	// Ingress and the orchestrator's app Ingresses name it.
	IngressClass = "traefik"
	// CourseGiteaHost is the name the course's Backstage app (its
	// app-config's Gitea integration) and templates (repoUrl) use for
	// Gitea inside the cluster, with CourseGiteaPort: the default kind
	// node's name and the ingress's node port. It is hard-coded there, so
	// every install makes it resolve inside the cluster, whatever --name
	// or cluster it has.
	CourseGiteaHost = DefaultName + nodeSuffix
	CourseGiteaPort = IngressHTTPSNodePort
)

// The ingress (Traefik): its node ports, which kind maps to the host
// (--port, and the HTTP port when asked), and its Service.
const (
	IngressHTTPSNodePort = 30443
	IngressHTTPNodePort  = 30080
	IngressNamespace     = "traefik"
	IngressServiceName   = "traefik"
	// IngressServiceHost is the Service's DNS name: CoreDNS sends the
	// platform's *.localhost names there.
	IngressServiceHost = IngressServiceName + "." + IngressNamespace + ".svc.cluster.local"
)

// GiteaHost is Gitea's name, in the browser and inside the cluster.
const GiteaHost = "git.localhost"

// GiteaURL is Gitea's URL through the ingress on port.
func GiteaURL(port int) string { return fmt.Sprintf("https://%s:%d", GiteaHost, port) }

// nodeSuffix makes a kind cluster's control-plane node name.
const nodeSuffix = "-control-plane"

// NodeName is the control-plane node (container) of the kind cluster name.
func NodeName(cluster string) string { return cluster + nodeSuffix }

// BackstageAppID is the app Backstage is deployed as: the Gitea workflow's
// HUMANITEC_APP_ID and the orchestrator's app.
func BackstageAppID(installID string) string { return "5min-backstage-" + installID }

// LocalOrchestratorOrg is the one org PocketIDP's local orchestrator serves
// for an install: named like the course's environment type, and the
// install's.
func LocalOrchestratorOrg(installID string) string { return EnvType + "-" + installID }

// DefaultOrchestratorReadyTimeout bounds the wait for the local
// orchestrator's Deployment to be available, and then for its API to answer
// through the ingress.
const DefaultOrchestratorReadyTimeout = 3 * time.Minute

// What PocketIDP labels its own objects with (namespaces, Secrets), so
// `down` removes only its own.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "pocketidp"
)

// Options are the choices of an install. They are saved in the state file
// (the token is not: only its fingerprint is) so that a re-run reuses them.
type Options struct {
	Name          string `json:"name"`
	Port          int    `json:"port"`
	ListenAddress string `json:"listen_address"`
	// Kubeconfig and Context select an existing cluster instead of kind.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	Context    string `json:"context,omitempty"`
	ChartDir   string `json:"chart_dir,omitempty"`
	Trust      bool   `json:"trust,omitempty"`

	HumanitecOrg    string       `json:"humanitec_org,omitempty"`
	HumanitecAPIURL string       `json:"humanitec_api_url,omitempty"`
	HumanitecToken  secret.Value `json:"-"`
	SkipHumanitec   bool         `json:"skip_humanitec,omitempty"`

	GiteaAdmin         string       `json:"gitea_admin"`
	GiteaAdminPassword secret.Value `json:"-"`
	BackstageRepo      string       `json:"backstage_repo"`
	BackstageRef       string       `json:"backstage_ref,omitempty"`
	// BackstageSource is a local clone or git bundle of BackstageRepo,
	// pushed into Gitea when Gitea cannot migrate from BackstageRepo
	// (offline).
	BackstageSource string `json:"backstage_source,omitempty"`

	// Run-only choices: not part of what an install is.
	Yes      bool          `json:"-"`
	Output   string        `json:"-"`
	LogFile  string        `json:"-"`
	StateDir string        `json:"-"`
	Timeout  time.Duration `json:"-"`
	Coder    bool          `json:"-"`
	// Wait makes `up` follow the Backstage build and deployment until
	// Backstage answers, within WaitTimeout (on top of Timeout).
	Wait        bool          `json:"-"`
	WaitTimeout time.Duration `json:"-"`
}

// Defaults returns the options of a plain `pocketidp up`.
func Defaults() Options {
	return Options{
		Name:               DefaultName,
		Port:               DefaultPort,
		ListenAddress:      DefaultListenAddress,
		HumanitecAPIURL:    DefaultAPIURL,
		GiteaAdmin:         DefaultGiteaAdmin,
		GiteaAdminPassword: secret.New(DefaultGiteaAdmin),
		BackstageRepo:      DefaultBackstageRepo,
		Output:             "text",
		Timeout:            DefaultTimeout,
		WaitTimeout:        DefaultWaitTimeout,
	}
}

// ExistingCluster reports whether the install goes into a cluster the user
// already has, so kind is not used at all.
func (o Options) ExistingCluster() bool { return o.Kubeconfig != "" || o.Context != "" }

// SourceRef is the Backstage ref to import: --backstage-ref, else the pin of
// the default repository; another repository without a ref gives its
// default branch.
func (o Options) SourceRef() string {
	if o.BackstageRef == "" && o.BackstageRepo == DefaultBackstageRepo {
		return DefaultBackstageRef
	}
	return o.BackstageRef
}

// BackstageRepoLocal reports whether BackstageRepo is on a local network (a
// private or loopback address, or a name such networks use), which Gitea
// refuses to migrate from unless told to allow local networks.
func (o Options) BackstageRepoLocal() bool {
	u, err := url.Parse(o.BackstageRepo)
	if err != nil || u.Hostname() == "" {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()
	}
	if !strings.Contains(host, ".") {
		return true // a single-label name only resolves on a local network
	}
	for _, suffix := range []string{".localhost", ".local", ".lan", ".internal", ".home.arpa"} {
		if strings.HasSuffix(host, suffix) {
			return true
		}
	}
	return false
}

// CoderForwardPort is the workspace port the course forwards to: its setup
// says `coder port-forward <workspace> --tcp 8443:443`, so in a Coder
// workspace the ingress answers on it too.
const CoderForwardPort = 443

// ForwardPort is the second host port kind maps to the ingress: 443 in a
// Coder workspace, where the course's port-forward ends; 0 elsewhere.
func (o Options) ForwardPort() int {
	if !o.Coder || o.ExistingCluster() || o.Port == CoderForwardPort {
		return 0
	}
	return CoderForwardPort
}

// HostPorts are the host ports a new kind cluster binds on ListenAddress:
// the ingress's, and the image registry's.
func (o Options) HostPorts() []int {
	if o.ExistingCluster() {
		return nil
	}
	ports := []int{o.Port}
	if fp := o.ForwardPort(); fp != 0 {
		ports = append(ports, fp)
	}
	return append(ports, RegistryPort)
}

// NoHumanitec reports whether Humanitec is neither given (no org, no
// token) nor skipped: `up` then installs PocketIDP's local orchestrator in
// the cluster and registers with it (LocalOrchestrator).
func (o Options) NoHumanitec() bool {
	return o.HumanitecOrg == "" && o.HumanitecToken.Empty() && !o.SkipHumanitec
}

// LocalOrchestrator reports whether the install's orchestrator is
// PocketIDP's own, in the cluster: no Humanitec org and token given, and
// no --skip-humanitec.
func (o Options) LocalOrchestrator() bool { return o.NoHumanitec() }

// NodeName is the name of the kind control-plane container.
func (o Options) NodeName() string { return NodeName(o.Name) }

// GiteaURL is the address of Gitea through the ingress, as a browser sees it.
func (o Options) GiteaURL() string { return GiteaURL(o.Port) }

// DefaultStateDir is where the state of the install lives: the user's config dir.
func DefaultStateDir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", &InputError{Msg: fmt.Sprintf("find the config dir: %v", err), Hint: "set --state-dir or $XDG_CONFIG_HOME"}
	}
	return filepath.Join(dir, "pocketidp"), nil
}

// ReadSecretFile reads a secret (a token, a password) from the file that
// flag names: besides the environment variable env, the only way to pass
// one, as a flag value would show in `ps` and shell history. As ssh does
// with keys, a regular file that others may read is refused; a file of
// more than one line is refused too (a token is one line, and a second
// line would only fail later as a bad header, blamed on the network).
func ReadSecretFile(flag, path, env string) (secret.Value, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return secret.Value{}, &InputError{
			Msg:  fmt.Sprintf("read --%s: %v", flag, err),
			Hint: fmt.Sprintf("point --%s at a file that holds it, or set %s", flag, env),
		}
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
		return secret.Value{}, &InputError{
			Msg:  fmt.Sprintf("--%s %s may be read by other users (mode %04o)", flag, path, fi.Mode().Perm()),
			Hint: fmt.Sprintf("chmod 600 %s, and replace the secret if others could have read it", path),
		}
	}
	v := secret.New(string(b))
	if v.Empty() {
		return v, &InputError{Msg: fmt.Sprintf("--%s %s is empty", flag, path), Hint: "write the secret into it, or set " + env}
	}
	if strings.ContainsAny(v.Reveal(), "\r\n") {
		return secret.Value{}, &InputError{Msg: fmt.Sprintf("--%s %s holds more than one line", flag, path),
			Hint: "leave only the secret in it, on one line"}
	}
	return v, nil
}

var (
	nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	orgRE  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

// Validate checks the options on their own (not against the machine: that is
// the doctor's job). Every problem is an *InputError that names the fix.
func (o Options) Validate() error {
	var errs []error
	bad := func(msg, fix string) { errs = append(errs, &InputError{Msg: msg, Hint: fix}) }

	if !nameRE.MatchString(o.Name) || len(o.Name) > 40 {
		bad(fmt.Sprintf("cluster name %q is not valid", o.Name), "use lowercase letters, digits and dashes (at most 40), e.g. --name 5min-idp")
	}
	if o.Port < 1 || o.Port > 65535 {
		bad(fmt.Sprintf("port %d is out of range", o.Port), "pass --port between 1 and 65535 (default 8443)")
	}
	if net.ParseIP(o.ListenAddress) == nil {
		bad(fmt.Sprintf("listen address %q is not an IP address", o.ListenAddress), "pass --listen-address 127.0.0.1 (or 0.0.0.0 to listen on every interface)")
	}
	if o.Output != "text" && o.Output != "json" {
		bad(fmt.Sprintf("output %q is not known", o.Output), "use -o text or -o json")
	}
	if o.Timeout <= 0 {
		bad(fmt.Sprintf("timeout %s is not positive", o.Timeout), "pass --timeout 30m")
	}
	if o.Wait && o.WaitTimeout <= 0 {
		bad(fmt.Sprintf("wait timeout %s is not positive", o.WaitTimeout), "pass --wait-timeout 40m")
	}
	if u, err := url.Parse(o.HumanitecAPIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad(fmt.Sprintf("HUMANITEC_API_URL %q is not an http(s) URL", o.HumanitecAPIURL), "unset it to use https://api.humanitec.io")
	}
	if o.GiteaAdmin == "" || o.GiteaAdminPassword.Empty() {
		bad("the Gitea admin user and password must not be empty", "leave them at their defaults (5minadmin)")
	}
	if err := o.CheckHumanitec(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// CheckHumanitec reports a missing or malformed Humanitec org or token, unless
// Humanitec is skipped or neither is given (the local orchestrator).
func (o Options) CheckHumanitec() error {
	if o.SkipHumanitec || o.LocalOrchestrator() {
		return nil
	}
	return o.CheckHumanitecCredentials()
}

// CheckHumanitecCredentials reports a missing or malformed Humanitec org or
// token, whatever the mode: what registering with Humanitec itself needs.
func (o Options) CheckHumanitecCredentials() error {
	switch {
	case o.HumanitecOrg == "" && o.HumanitecToken.Empty():
		return &InputError{Msg: "the Humanitec org and token are not set",
			Hint: "set HUMANITEC_ORG and HUMANITEC_TOKEN (or --humanitec-org and --humanitec-token-file); without them `up` uses PocketIDP's local orchestrator"}
	case o.HumanitecOrg == "":
		return &InputError{Msg: "HUMANITEC_ORG is not set", Hint: "set HUMANITEC_ORG (or --humanitec-org) to your Humanitec org id"}
	case o.HumanitecToken.Empty():
		return &InputError{Msg: "HUMANITEC_TOKEN is not set",
			Hint: "set HUMANITEC_TOKEN or pass --humanitec-token-file with an API token of a service user with Administrator rights"}
	case !orgRE.MatchString(o.HumanitecOrg):
		return &InputError{Msg: fmt.Sprintf("Humanitec org id %q is not valid", o.HumanitecOrg),
			Hint: "use the id from https://app.humanitec.io/orgs/<org-id>/ (lowercase letters, digits, dashes)"}
	}
	return nil
}

// InputError is bad input: the run stops before creating anything and exits 2.
type InputError struct {
	Msg  string
	Hint string
}

func (e *InputError) Error() string {
	if e.Hint == "" {
		return e.Msg
	}
	return e.Msg + " (fix: " + e.Hint + ")"
}

// Fix is what the user should do about it.
func (e *InputError) Fix() string { return e.Hint }

// IsInput reports whether err is (or wraps) bad input.
func IsInput(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

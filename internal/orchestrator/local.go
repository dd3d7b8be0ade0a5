package orchestrator

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/pocketidp/pocketidp/internal/secret"
)

// Where the local orchestrator is reached, and what an install keeps about
// it in its state's values.
const (
	// HostName is the orchestrator's host behind the ingress: a neutral
	// name, not Humanitec's.
	HostName = "orchestrator.localhost"
	// StateOrg, StateToken and StateURL are the state value keys `up`
	// writes and `pocketidp env` reads (the state file is 0600).
	StateOrg   = "orchestrator.org"
	StateToken = "orchestrator.token"
	StateURL   = "orchestrator.url"
	// tokenPrefix marks a local orchestrator token, so one pasted
	// somewhere is recognisable.
	tokenPrefix = "pidp_"
)

// URL is the orchestrator's API prefix for a browser or humctl on the host.
func URL(port int) string { return fmt.Sprintf("https://%s:%d", HostName, port) }

// APIPrefixEnv are the environment variables the orchestrator's clients
// may read its API prefix from: humctl's (its documented setting is
// apiPrefix in ~/.humctl; the variable is not documented, so both names it
// may read) and the Terraform provider's.
var APIPrefixEnv = []string{"HUMANITEC_API_PREFIX", "HUMCTL_API_PREFIX", "HUMANITEC_HOST"}

// ClientEnv is the environment that points those clients at url (CI jobs
// get it).
func ClientEnv(url string) map[string]string {
	env := map[string]string{}
	for _, name := range APIPrefixEnv {
		env[name] = url
	}
	return env
}

// NewToken makes the one bearer token the orchestrator accepts.
func NewToken() (secret.Value, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return secret.Value{}, fmt.Errorf("make the local orchestrator's token: %w", err)
	}
	return secret.New(tokenPrefix + base64.RawURLEncoding.EncodeToString(b)), nil
}

// Access is what a client needs to talk to the local orchestrator.
type Access struct {
	Org   string
	Token secret.Value
	URL   string
	// CADir holds the install's CA certificate (ca.crt).
	CADir string
}

// Exports are the shell lines `pocketidp env` prints: the org, the token
// (masked unless showToken), the API prefix under the names humctl and
// the Terraform provider read it from, and the CA for Go tools.
func Exports(a Access, showToken bool) string {
	var b strings.Builder
	tok := a.Token.String() // [redacted]
	if showToken {
		tok = a.Token.Reveal()
	}
	fmt.Fprintf(&b, "# PocketIDP's local orchestrator (the part of Humanitec's API the course uses), at %s\n", a.URL)
	fmt.Fprintf(&b, "export HUMANITEC_ORG=%s\n", shellQuote(a.Org))
	if showToken {
		fmt.Fprintf(&b, "export HUMANITEC_TOKEN=%s\n", shellQuote(tok))
	} else {
		b.WriteString("# HUMANITEC_TOKEN is not shown; to set it too: eval \"$(pocketidp env --show-token)\"\n")
	}
	// APIPrefixEnv (`pocketidp env --write-humctl-config` writes humctl's
	// documented setting). PocketIDP's own HUMANITEC_API_URL is left alone:
	// with it, `pocketidp up` in the same shell would take the local
	// orchestrator for Humanitec.
	for _, name := range APIPrefixEnv {
		fmt.Fprintf(&b, "export %s=%s\n", name, shellQuote(a.URL))
	}
	// Go tools (humctl, terraform) trust the install's CA through
	// SSL_CERT_DIR; the system folders stay in the list.
	fmt.Fprintf(&b, "export SSL_CERT_DIR=%s\n", shellQuote(strings.Join([]string{a.CADir, "/etc/ssl/certs", "/etc/pki/tls/certs"}, ":")))
	return b.String()
}

// HumctlConfig is ~/.humctl pointing humctl at the orchestrator.
func HumctlConfig(a Access) []byte {
	return fmt.Appendf(nil, "apiPrefix: %s\norg: %s\ntoken: %s\n", a.URL, a.Org, a.Token.Reveal())
}

// CAFile is the install's CA certificate under CADir.
func (a Access) CAFile() string { return filepath.Join(a.CADir, "ca.crt") }

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// healthz answers probes; it needs no token and says nothing about state.
func healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

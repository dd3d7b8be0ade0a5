package orchestrator

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pocketidp/pocketidp/internal/secret"
)

func TestExportsMaskTheTokenUnlessAsked(t *testing.T) {
	tok, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	a := Access{Org: "5min-local", Token: tok, URL: URL(8443), CADir: "/home/me/.config/pocketidp/tls"}
	masked := Exports(a, false)
	if strings.Contains(masked, tok.Reveal()) {
		t.Fatalf("the token is printed without --show-token:\n%s", masked)
	}
	shown := Exports(a, true)
	if strings.Contains(shown, "HUMANITEC_API_URL") {
		t.Error("the exports point pocketidp itself at the local orchestrator")
	}
	for _, want := range []string{
		"export HUMANITEC_ORG='5min-local'",
		"export HUMANITEC_TOKEN='" + tok.Reveal() + "'",
		"export HUMANITEC_API_PREFIX='https://orchestrator.localhost:8443'",
		"export HUMANITEC_HOST='https://orchestrator.localhost:8443'",
		"export SSL_CERT_DIR='/home/me/.config/pocketidp/tls:/etc/ssl/certs",
	} {
		if !strings.Contains(shown, want) {
			t.Errorf("exports lack %q:\n%s", want, shown)
		}
	}
	if cfg := string(HumctlConfig(a)); !strings.Contains(cfg, "apiPrefix: https://orchestrator.localhost:8443\n") || !strings.Contains(cfg, "token: "+tok.Reveal()) {
		t.Errorf("~/.humctl = %q", cfg)
	}
	if got := shellQuote("it's"); got != `'it'\''s'` {
		t.Errorf("shellQuote = %s", got)
	}
}

func TestHealthzNeedsNoToken(t *testing.T) {
	sv := serve(t, Config{Token: secret.New("x")})
	rec := httptest.NewRecorder()
	sv.srv.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("GET /healthz = %d", rec.Code)
	}
}

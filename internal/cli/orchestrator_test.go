package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pocketidp/pocketidp/internal/orchestrator"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/state"
)

// runIn runs the CLI with the given state dir and context.
func runIn(ctx context.Context, stateDir string, env map[string]string, args ...string) result {
	// Each command takes only its own flags: env and graph read the state.
	if len(args) > 0 && (args[0] == "env" || args[0] == "graph") {
		args = append(args, "--state-dir", stateDir)
	}
	var out, errb bytes.Buffer
	code := Run(ctx, Env{Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] }})
	return result{code, out.String(), errb.String()}
}

func TestEnvPrintsTheLocalOrchestratorsExports(t *testing.T) {
	dir := t.TempDir()
	const token = "pidp_local-test-token"
	// Before any install, and for an install without the orchestrator.
	if r := runIn(context.Background(), dir, nil, "env"); r.code != ExitBadInput || !strings.Contains(r.stderr, "pocketidp up") {
		t.Errorf("env without an install: exit %d, %s", r.code, r.stderr)
	}
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	if r := runIn(context.Background(), dir, nil, "env"); r.code != ExitBadInput || !strings.Contains(r.stderr, "no local orchestrator") {
		t.Errorf("env without an orchestrator: exit %d, %s", r.code, r.stderr)
	}
	for k, v := range map[string]string{orchestrator.StateOrg: "5min-local-abcd", orchestrator.StateToken: token, orchestrator.StateURL: orchestrator.URL(9443)} {
		if err := st.SetValue(k, v); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	r := runIn(context.Background(), dir, nil, "env")
	if r.code != ExitOK || strings.Contains(r.stdout+r.stderr, token) {
		t.Fatalf("env: exit %d, the token shows: %v\n%s", r.code, strings.Contains(r.stdout, token), r.stdout)
	}
	for _, want := range []string{"export HUMANITEC_ORG='5min-local-abcd'", "export HUMANITEC_API_PREFIX='https://orchestrator.localhost:9443'",
		"SSL_CERT_DIR='" + filepath.Join(dir, "tls")} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("env lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := runIn(context.Background(), dir, nil, "env", "--show-token"); !strings.Contains(r.stdout, "export HUMANITEC_TOKEN='"+token+"'") {
		t.Errorf("env --show-token:\n%s", r.stdout)
	}
}

func TestOrchestratorServeAnswersWithItsToken(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("pidp_serve-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsAddr := tln.Addr().String()
	tln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	go func() {
		done <- runIn(ctx, dir, nil, "orchestrator", "serve", "--no-cluster", "--listen", addr, "--tls-listen", tlsAddr, "--org", "my-org", "--token-file", tokenFile, "--ingress-port", "9443")
	}()
	get := func(path, token string) int {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return get("/healthz", "") == http.StatusOK, nil
	}); err != nil {
		cancel()
		t.Fatalf("the orchestrator never answered: %v %+v", err, <-done)
	}
	if st := get("/orgs/my-org/apps", "pidp_serve-token"); st != http.StatusOK {
		t.Errorf("with its token: %d", st)
	}
	if st := get("/orgs/my-org/apps", "another"); st != http.StatusUnauthorized {
		t.Errorf("with another token: %d", st)
	}
	// Deployed pods reach it as api.humanitec.io over TLS, accepting its
	// self-signed certificate.
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "api.humanitec.io"}}}
	req, _ := http.NewRequest("GET", "https://"+tlsAddr+"/current-user", nil)
	req.Header.Set("Authorization", "Bearer pidp_serve-token")
	if resp, err := insecure.Do(req); err != nil || resp.StatusCode != http.StatusOK || resp.TLS.PeerCertificates[0].DNSNames[0] != "api.humanitec.io" {
		t.Errorf("over TLS: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	cancel()
	r := <-done
	if r.code != ExitOK || strings.Contains(r.stderr, "pidp_serve-token") {
		t.Errorf("serve ended with %d; the token in its log: %v\n%s", r.code, strings.Contains(r.stderr, "pidp_serve-token"), r.stderr)
	}
}

// `pocketidp graph` reads the install's orchestrator from the state and
// trusts the install's CA.
func TestGraphShowsResources(t *testing.T) {
	dir := t.TempDir()
	const token = "pidp_graph-token"
	srv, err := orchestrator.New(context.Background(), orchestrator.Config{Org: "my-org", Token: secret.New(token)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewTLSServer(srv)
	defer hs.Close()
	if err := os.MkdirAll(filepath.Join(dir, "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "tls", "ca.crt"), caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	c := &orchestrator.Client{URL: hs.URL, Org: "my-org", Token: secret.New(token), HTTP: hs.Client()}
	ctx := context.Background()
	for _, call := range []struct {
		path string
		body any
	}{
		{"/orgs/my-org/env-types", map[string]any{"id": "5min-local"}},
		{"/orgs/my-org/apps", map[string]any{"id": "shop", "name": "shop", "env": map[string]any{"id": "5min-local", "name": "l", "type": "5min-local"}}},
	} {
		b, _ := json.Marshal(call.body)
		req, _ := http.NewRequest("POST", hs.URL+call.path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hs.Client().Do(req)
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("POST %s: %v %v", call.path, err, resp)
		}
		resp.Body.Close()
	}
	if _, err := c.DeployScore(ctx, "shop", "5min-local", []byte("apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers: {c: {image: nginx}}\n"), "", "x"); err != nil {
		t.Fatal(err)
	}
	srv.Wait()
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{orchestrator.StateOrg: "my-org", orchestrator.StateToken: token, orchestrator.StateURL: hs.URL} {
		if err := st.SetValue(k, v); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	r := runIn(ctx, dir, nil, "graph", "--app", "shop")
	// The API-only server provisions nothing: the graph says so.
	if r.code != ExitOK || !strings.Contains(r.stdout, "nothing is deployed") {
		t.Errorf("graph: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := runIn(ctx, dir, nil, "graph"); r.code != ExitBadInput {
		t.Errorf("graph without --app: exit %d", r.code)
	}
	if r := runIn(ctx, dir, nil, "graph", "--app", "nope"); r.code != ExitFailed || !strings.Contains(r.stderr, "404") {
		t.Errorf("graph of an unknown app: exit %d %s", r.code, r.stderr)
	}
}

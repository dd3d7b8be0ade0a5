//go:build e2e

package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pocketidp/pocketidp/internal/doctor"
)

// TestEndToEnd runs the real thing on a machine with Docker or Podman and
// the internet: `up` creates the kind cluster and installs the upstream
// charts, the tutorial's Gitea answers on https://git.localhost:8443 with
// its org, `up` again converges, `down` leaves nothing. Humanitec is
// skipped unless HUMANITEC_ORG and HUMANITEC_TOKEN are set. `make e2e`.
func TestEndToEnd(t *testing.T) {
	eng, err := doctor.DetectEngine(context.Background(), doctor.System{})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("e2e needs a container engine: %v", err)
		}
		t.Skipf("no container engine here: %v", err)
	}
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	run := func(args ...string) {
		t.Helper()
		args = append(args, "--yes", "--state-dir", stateDir, "--log-file", filepath.Join(dir, "debug.log"), "--timeout", "25m")
		if os.Getenv("HUMANITEC_ORG") == "" {
			args = append(args, "--skip-humanitec")
		}
		var out, errb bytes.Buffer
		code := Run(context.Background(), Env{Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
			Getenv: os.Getenv, Host: doctor.System{}})
		if code != 0 {
			t.Fatalf("pocketidp %v: exit %d\n%s\n%s", args, code, out.String(), errb.String())
		}
	}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(stateDir, "state.json")); err == nil {
			run("down")
		}
	})

	run("up")
	ca, err := os.ReadFile(filepath.Join(stateDir, "tls", "ca.crt"))
	if err != nil {
		t.Fatalf("local CA: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		},
	}}
	for _, path := range []string{"/api/v1/version", "/api/v1/orgs/5minorg", "/api/v1/repos/5minorg/backstage"} {
		resp, err := hc.Get("https://git.localhost:8443" + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
	}

	run("up") // converges
	run("down")
	if _, err := os.Stat(filepath.Join(stateDir, "state.json")); !os.IsNotExist(err) {
		t.Errorf("state left after down: %v", err)
	}
	out, _ := exec.Command(eng.Name, "ps", "-a", "--format", "{{.Names}}").Output()
	if strings.Contains(string(out), "5min-idp-control-plane") {
		t.Errorf("node container left after down:\n%s", out)
	}
}

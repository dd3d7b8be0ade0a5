//go:build e2e

package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/doctor"
	"github.com/pocketidp/pocketidp/internal/state"
)

// TestEndToEnd runs the real thing on a machine with Docker or Podman and
// the internet: `up` creates the kind cluster and installs the upstream
// charts; the tutorial's checks pass on https://git.localhost:8443 (the
// admin logs in, the org, the repository and the Actions variables are
// there); with HUMANITEC_ORG and HUMANITEC_TOKEN set, `up --wait` follows
// the Backstage build until Backstage answers (else Humanitec is skipped);
// `up` again changes nothing; `down` leaves no cluster, container or
// state. `make e2e`.
func TestEndToEnd(t *testing.T) {
	eng, err := doctor.DetectEngine(context.Background(), doctor.System{})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("e2e needs a container engine: %v", err)
		}
		t.Skipf("no container engine here: %v", err)
	}
	withHumanitec := os.Getenv("HUMANITEC_ORG") != ""
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	run := func(args ...string) string {
		t.Helper()
		args = append(args, "--yes", "--state-dir", stateDir, "--log-file", filepath.Join(dir, "debug.log"), "--timeout", "25m")
		if !withHumanitec {
			args = append(args, "--skip-humanitec")
		}
		var out, errb bytes.Buffer
		code := Run(context.Background(), Env{Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
			Getenv: os.Getenv, Host: doctor.System{}})
		if code != 0 {
			t.Fatalf("pocketidp %v: exit %d\n%s\n%s", args, code, out.String(), errb.String())
		}
		return out.String()
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
	// get reads a Gitea API path as the tutorial's admin into v.
	get := func(path string, v any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "https://git.localhost:8443"+path, nil)
		req.SetBasicAuth("5minadmin", "5minadmin")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	var user struct{ Login string }
	get("/api/v1/user", &user)
	if user.Login != "5minadmin" {
		t.Errorf("logged in as %q, want 5minadmin", user.Login)
	}
	var org struct{ Visibility string }
	get("/api/v1/orgs/5minorg", &org)
	if org.Visibility != "public" {
		t.Errorf("5minorg visibility %q, want public", org.Visibility)
	}
	var repo struct {
		FullName string `json:"full_name"`
	}
	get("/api/v1/repos/5minorg/backstage", &repo)
	if repo.FullName != "5minorg/backstage" {
		t.Errorf("repository %q", repo.FullName)
	}
	var vars []struct{ Name, Data string }
	get("/api/v1/orgs/5minorg/actions/variables", &vars)
	found := map[string]string{}
	for _, v := range vars {
		found[v.Name] = v.Data
	}
	if found["CLOUD_PROVIDER"] != "5min" || (withHumanitec && found["HUMANITEC_ORG_ID"] != os.Getenv("HUMANITEC_ORG")) {
		t.Errorf("org Actions variables %v", found)
	}

	if withHumanitec {
		run("up", "--wait")
		f, err := state.Read(stateDir)
		if err != nil {
			t.Fatal(err)
		}
		u := f.Values[bootstrap.ValueBackstageURL]
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatalf("Backstage at %q: %v", u, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("Backstage at %s: %s", u, resp.Status)
		}
	}

	// Again: nothing to do but the checks.
	checks := map[string]bool{bootstrap.StepState: true, "gitea/ready": true, bootstrap.StepBackstageReady: true}
	for step, kind := range statuses(t, run("up", "-o", "json")) {
		if kind != bootstrap.Skipped && !checks[step] && !strings.HasPrefix(step, "doctor/") {
			t.Errorf("second up: step %s %s, want skipped", step, kind)
		}
	}

	run("down")
	if _, err := os.Stat(filepath.Join(stateDir, "state.json")); !os.IsNotExist(err) {
		t.Errorf("state left after down: %v", err)
	}
	out, _ := exec.Command(eng.Name, "ps", "-a", "--format", "{{.Names}}").Output()
	if strings.Contains(string(out), "5min-idp") {
		t.Errorf("container left after down:\n%s", out)
	}
	out, _ = exec.Command(eng.Name, "network", "ls", "--format", "{{.Name}}").Output()
	t.Logf("networks after down (kind's own network is shared and stays):\n%s", out)
}

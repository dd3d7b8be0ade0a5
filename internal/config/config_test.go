package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pocketidp/pocketidp/internal/secret"
)

func TestSourceRef(t *testing.T) {
	tests := []struct {
		name, repo, ref, want string
	}{
		{"default repository is pinned", DefaultBackstageRepo, "", DefaultBackstageRef},
		{"a ref given wins", DefaultBackstageRepo, "v0.3.1", "v0.3.1"},
		{"another repository: its default branch", "https://example.test/backstage.git", "", ""},
		{"another repository with a ref", "https://example.test/backstage.git", "main", "main"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Defaults()
			o.BackstageRepo, o.BackstageRef = tt.repo, tt.ref
			if got := o.SourceRef(); got != tt.want {
				t.Errorf("SourceRef() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestHostPorts: a Coder workspace also maps 443, where the course's
// `coder port-forward <ws> --tcp 8443:443` ends; the registry is on the
// host's 5001, as the course publishes it; an existing cluster maps
// nothing of ours.
func TestHostPorts(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Options)
		want    []int
		wantFwd int
	}{
		{"laptop", func(*Options) {}, []int{8443, 5001}, 0},
		{"Coder", func(o *Options) { o.Coder = true }, []int{8443, 443, 5001}, 443},
		{"Coder on 443 already", func(o *Options) { o.Coder, o.Port = true, 443 }, []int{443, 5001}, 0},
		{"Coder, existing cluster", func(o *Options) { o.Coder, o.Kubeconfig = true, "/k" }, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Defaults()
			tt.change(&o)
			if got := o.HostPorts(); !slices.Equal(got, tt.want) {
				t.Errorf("HostPorts() = %v, want %v", got, tt.want)
			}
			if got := o.ForwardPort(); got != tt.wantFwd {
				t.Errorf("ForwardPort() = %d, want %d", got, tt.wantFwd)
			}
		})
	}
}

// TestBackstageRepoLocal: Gitea refuses local-network migrations unless
// allowed, so a repository there must turn that on; public hosts must not.
func TestBackstageRepoLocal(t *testing.T) {
	tests := []struct {
		repo string
		want bool
	}{
		{DefaultBackstageRepo, false},
		{"https://gitlab.example.com/team/backstage.git", false},
		{"http://192.168.1.20:3000/me/backstage.git", true},
		{"http://10.0.0.5/me/backstage.git", true},
		{"http://127.0.0.1:3000/me/backstage.git", true},
		{"http://[::1]:3000/me/backstage.git", true},
		{"http://gitserver/me/backstage.git", true},
		{"https://git.corp.internal/me/backstage.git", true},
		{"http://nas.local/backstage.git", true},
		{"https://8.8.8.8/backstage.git", false},
		{"not a url", false},
	}
	for _, tt := range tests {
		t.Run(tt.repo, func(t *testing.T) {
			o := Defaults()
			o.BackstageRepo = tt.repo
			if got := o.BackstageRepoLocal(); got != tt.want {
				t.Errorf("BackstageRepoLocal() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestReadSecretFile: a token file others may read is refused, as ssh does
// with keys; one of more than one line is bad input, not a network error
// later (issue 14, point 15).
func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, content string
		mode          os.FileMode
		want          string // "" means accepted
	}{
		{"one line, private", "hum-token\n", 0o600, ""},
		{"world-readable", "hum-token\n", 0o644, "may be read by other users (mode 0644)"},
		{"group-readable", "hum-token\n", 0o640, "chmod 600"},
		{"two lines", "hum-token\nsecond\n", 0o600, "holds more than one line"},
		{"empty", "\n", 0o600, "is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
			if err := os.WriteFile(p, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tt.mode); err != nil {
				t.Fatal(err)
			}
			v, err := ReadSecretFile("humanitec-token-file", p, "HUMANITEC_TOKEN")
			switch {
			case tt.want == "" && (err != nil || v.Reveal() != "hum-token"):
				t.Errorf("got %q, %v; want the token", v.Reveal(), err)
			case tt.want != "" && (!IsInput(err) || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want bad input saying %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "hum-token"):
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}

// TestHumanitecModes: no org and no token means the local orchestrator
// (valid input); half of them is a mistake; --skip-humanitec skips any
// orchestrator.
func TestHumanitecModes(t *testing.T) {
	tests := []struct {
		name      string
		change    func(*Options)
		local     bool
		wantErr   string // of CheckHumanitec, "" for none
		credsFail bool   // CheckHumanitecCredentials fails
	}{
		{"nothing given: the local orchestrator", func(*Options) {}, true, "", true},
		{"both given: Humanitec", func(o *Options) { o.HumanitecOrg, o.HumanitecToken = "acme", secret.New("t") }, false, "", false},
		{"org only", func(o *Options) { o.HumanitecOrg = "acme" }, false, "HUMANITEC_TOKEN is not set", true},
		{"token only", func(o *Options) { o.HumanitecToken = secret.New("t") }, false, "HUMANITEC_ORG is not set", true},
		{"skipped", func(o *Options) { o.SkipHumanitec = true }, false, "", true},
		{"bad org", func(o *Options) { o.HumanitecOrg, o.HumanitecToken = "Acme!", secret.New("t") }, false, "is not valid", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Defaults()
			tt.change(&o)
			if got := o.LocalOrchestrator(); got != tt.local {
				t.Errorf("LocalOrchestrator() = %v, want %v", got, tt.local)
			}
			err := o.CheckHumanitec()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("CheckHumanitec() = %v, want %q", err, tt.wantErr)
			}
			if tt.wantErr == "" {
				if err := o.Validate(); err != nil {
					t.Errorf("Validate() = %v", err)
				}
			}
			if got := o.CheckHumanitecCredentials() != nil; got != tt.credsFail {
				t.Errorf("CheckHumanitecCredentials() failed = %v, want %v", got, tt.credsFail)
			}
		})
	}
	if got := LocalOrchestratorOrg("ab12"); got != "5min-local-ab12" {
		t.Errorf("LocalOrchestratorOrg = %s", got)
	}
}

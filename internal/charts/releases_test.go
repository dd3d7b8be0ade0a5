package charts

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"sigs.k8s.io/yaml"

	goldenfile "github.com/pocketidp/pocketidp/internal/golden"
	"github.com/pocketidp/pocketidp/internal/secret"
)

// Secrets made up for the tests; the golden files must never hold the
// password or the token.
const (
	testPassword = "hunter2-admin-password"
	testToken    = "runner-registration-token-0123"
	testKey      = "-----BEGIN PRIVATE KEY-----\nTESTKEY\n-----END PRIVATE KEY-----"
	testCA       = "-----BEGIN CERTIFICATE-----\nTESTCA\n-----END CERTIFICATE-----"
)

func testPlatform() Platform {
	return Platform{
		Name: "5min-idp", Port: 8443,
		GiteaAdmin: "5minadmin", GiteaAdminPassword: secret.New(testPassword),
		RunnerToken: secret.New(testToken), CACert: []byte(testCA),
		HumanitecOrg: "my-org", AgentPrivateKey: secret.New(testKey),
	}
}

// must unwraps a release constructor's result; they fail only on a
// marshalling bug.
func must(r Release, err error) Release {
	if err != nil {
		panic(err)
	}
	return r
}

// TestReleaseValuesGolden renders every release's values (and the names of
// the Secrets it makes) as YAML and checks them against golden files.
func TestReleaseValuesGolden(t *testing.T) {
	custom := testPlatform()
	custom.Name, custom.Port, custom.AllowLocalMigrations = "demo", 9443, true

	p := testPlatform()
	tests := []struct {
		golden string
		rel    Release
	}{
		{"traefik.yaml", Traefik(p)},
		{"traefik-port-9443.yaml", Traefik(custom)},
		{"gitea.yaml", Gitea(p)},
		{"gitea-demo-9443.yaml", Gitea(custom)},
		{"registry.yaml", must(Registry(p))},
		{"runner.yaml", must(Runner(p))},
		{"humanitec-agent.yaml", Agent(p)},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			vals, err := tt.rel.ValuesMap()
			if err != nil {
				t.Fatal(err)
			}
			doc := map[string]any{
				"release":   tt.rel.Name,
				"namespace": tt.rel.Namespace,
				"chart":     tt.rel.Source.Chart + " " + tt.rel.Source.Version,
				"values":    vals,
			}
			if tt.rel.Source.Embedded == nil {
				doc["repository"] = tt.rel.Source.Repo
			}
			var secrets []string
			for _, s := range tt.rel.Secrets {
				for k := range s.Data {
					secrets = append(secrets, s.Name+"/"+k)
				}
			}
			if secrets != nil {
				slices.Sort(secrets) // map order is random
				doc["secrets"] = secrets
			}
			out, err := yaml.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{testPassword, testToken} {
				if strings.Contains(string(out), s) {
					t.Errorf("values of %s hold a secret that belongs in a Secret: %q", tt.rel.Name, s)
				}
			}
			golden(t, tt.golden, out)
		})
	}
}

// TestReleaseShape checks the properties the issue names, independently of
// the golden files (which -update would accept whatever they hold).
func TestReleaseShape(t *testing.T) {
	p := testPlatform()
	get := func(r Release, path ...string) any {
		t.Helper()
		vals, err := r.ValuesMap()
		if err != nil {
			t.Fatal(err)
		}
		var cur any = vals
		for _, k := range path {
			m, ok := cur.(map[string]any)
			if !ok {
				t.Fatalf("%s: %v is not a map at %q", r.Name, path, k)
			}
			cur = m[k]
		}
		return cur
	}
	runner := must(Runner(p))
	registry := must(Registry(p))
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"traefik websecure node port", get(Traefik(p), "ports", "websecure", "nodePort"), float64(30443)},
		{"traefik web node port", get(Traefik(p), "ports", "web", "nodePort"), float64(30080)},
		{"traefik websecure service port is the host port", get(Traefik(p), "ports", "websecure", "exposedPort"), float64(8443)},
		{"traefik default class", get(Traefik(p), "ingressClass", "isDefaultClass"), true},
		{"traefik default certificate", get(Traefik(p), "tlsStore", "default", "defaultCertificate", "secretName"), TLSSecret},
		{"gitea root url", get(Gitea(p), "gitea", "config", "server", "ROOT_URL"), "https://git.localhost:8443/"},
		{"gitea sqlite", get(Gitea(p), "gitea", "config", "database", "DB_TYPE"), "sqlite3"},
		{"gitea memory cache", get(Gitea(p), "gitea", "config", "cache", "ADAPTER"), "memory"},
		{"gitea actions", get(Gitea(p), "gitea", "config", "actions", "ENABLED"), true},
		{"gitea public migrations", get(Gitea(p), "gitea", "config", "migrations", "ALLOWED_DOMAINS"), ""},
		{"gitea no postgres", get(Gitea(p), "postgresql", "enabled"), false},
		{"gitea no postgres-ha", get(Gitea(p), "postgresql-ha", "enabled"), false},
		{"gitea no valkey", get(Gitea(p), "valkey", "enabled"), false},
		{"gitea no valkey-cluster", get(Gitea(p), "valkey-cluster", "enabled"), false},
		{"gitea admin from secret", get(Gitea(p), "gitea", "admin", "existingSecret"), GiteaAdminSecret},
		{"gitea node-name host", get(Gitea(p), "ingress", "hosts").([]any)[1].(map[string]any)["host"], "5min-idp-control-plane"},
		{"runner url", get(runner, "giteaURL"), "https://git.localhost:8443"},
		{"runner token secret", get(runner, "registrationToken", "secret"), RunnerTokenSecret},
		{"gitea recreate", get(Gitea(p), "strategy", "type"), "Recreate"},
		{"registry hosting host", get(registry, "localRegistryHosting", "host"), "localhost:5001"},
		{"agent org", get(Agent(p), "humanitec", "org"), "my-org"},
		{"agent key", get(Agent(p), "humanitec", "privateKey"), testKey},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v (%T), want %v (%T)", c.name, c.got, c.got, c.want, c.want)
		}
	}

	// The act_runner config is YAML inside a value: parse it back.
	var cfg ActRunnerConfig
	if err := yaml.Unmarshal([]byte(get(runner, "config").(string)), &cfg); err != nil {
		t.Fatalf("act_runner config does not parse: %v", err)
	}
	var labels []string
	for _, l := range cfg.Runner.Labels {
		name, _, _ := strings.Cut(l, ":")
		labels = append(labels, name)
	}
	if strings.Join(labels, ",") != "ubuntu-latest,ubuntu-22.04" {
		t.Errorf("runner labels = %v, want ubuntu-latest and ubuntu-22.04", labels)
	}
	if cfg.Container.Network != "host" || cfg.Runner.Envs["DOCKER_HOST"] == "" {
		t.Errorf("jobs must share the DinD daemon's network and reach it: network %q, DOCKER_HOST %q",
			cfg.Container.Network, cfg.Runner.Envs["DOCKER_HOST"])
	}
	if cfg.Runner.Envs["GIT_CONFIG_KEY_0"] != "http.https://git.localhost:8443/.sslCAInfo" {
		t.Errorf("git in jobs must trust the CA for the Gitea URL: %q", cfg.Runner.Envs["GIT_CONFIG_KEY_0"])
	}

	if _, ok := cfg.Runner.Envs["SSL_CERT_DIR"]; ok {
		t.Error("jobs get SSL_CERT_DIR without a local orchestrator")
	}
	// With the local orchestrator, jobs get its API prefix and trust the CA.
	lp := p
	lp.JobEnv = map[string]string{"HUMANITEC_API_PREFIX": "https://orchestrator.localhost:8443"}
	local, err := Runner(lp)
	if err != nil {
		t.Fatal(err)
	}
	var lcfg ActRunnerConfig
	if err := yaml.Unmarshal([]byte(get(local, "config").(string)), &lcfg); err != nil {
		t.Fatal(err)
	}
	if lcfg.Runner.Envs["HUMANITEC_API_PREFIX"] != "https://orchestrator.localhost:8443" || lcfg.Runner.Envs["SSL_CERT_DIR"] != "/pocketidp-ca:/etc/ssl/certs" ||
		lcfg.Runner.Envs["DOCKER_HOST"] == "" {
		t.Errorf("local orchestrator job env = %v", lcfg.Runner.Envs)
	}

	// The forwarders give the runner pod's loopback the ingress's port
	// and the registry's.
	fwd := get(runner, "forwards").([]any)
	if len(fwd) != 2 || fwd[0].(map[string]any)["port"] != float64(8443) || fwd[1].(map[string]any)["port"] != float64(5001) {
		t.Errorf("forwards = %v", fwd)
	}
}

func anyStrings(in []any) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i], _ = v.(string)
	}
	return out
}

// TestRegistryHostsTOML checks the containerd hosts.toml parses and sends
// localhost:5001 to plain HTTP.
func TestRegistryHostsTOML(t *testing.T) {
	s, err := RegistryHostsTOML()
	if err != nil {
		t.Fatal(err)
	}
	var got containerdHosts
	if _, err := toml.Decode(s, &got); err != nil {
		t.Fatalf("hosts.toml does not parse: %v\n%s", err, s)
	}
	if got.Server != "http://localhost:5001" || len(got.Host["http://localhost:5001"].Capabilities) == 0 {
		t.Errorf("hosts.toml = %+v", got)
	}
	golden(t, "registry-hosts.toml", []byte(s))
}

// TestSourcesDefaults checks overriding one source keeps the others pinned.
func TestSourcesDefaults(t *testing.T) {
	s := Sources{Gitea: Source{Repo: "http://127.0.0.1:1", Chart: "gitea", Version: "12.7.0"}}.withDefaults()
	if s.Gitea.Repo != "http://127.0.0.1:1" {
		t.Errorf("override lost: %+v", s.Gitea)
	}
	d := DefaultSources()
	if s.Traefik != d.Traefik || s.Agent != d.Agent || s.Runner.String() != d.Runner.String() {
		t.Errorf("defaults not filled: %+v", s)
	}
	if !d.Agent.OCI() || d.Traefik.OCI() {
		t.Errorf("OCI detection: agent %v traefik %v", d.Agent.OCI(), d.Traefik.OCI())
	}
	for _, src := range []Source{d.Traefik, d.Gitea, d.Runner, d.Agent, d.Registry} {
		if strings.ContainsAny(src.Version, "^~*<>= ") || src.Version == "" {
			t.Errorf("%s: version %q is not pinned", src.Chart, src.Version)
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", "golden", name), got)
}

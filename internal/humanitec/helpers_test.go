package humanitec

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pocketidp/pocketidp/internal/humanitec/humanitectest"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/state"
)

const testInstall = "abcd"

var testToken = secret.New(humanitectest.DefaultToken)

// The agent key takes seconds to make at 4096 bits: one per test binary.
var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

func agentTestKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, AgentKeyBits)
		if err != nil {
			t.Fatal(err)
		}
		testKey = k
	})
	return testKey
}

func testCluster() ClusterData {
	return ClusterData{
		Server:         "https://5min-idp-control-plane:6443",
		CAData:         []byte("-----BEGIN CERTIFICATE-----\nQ0EgZGF0YQ==\n-----END CERTIFICATE-----\n"),
		ClientCertData: []byte("-----BEGIN CERTIFICATE-----\nY2xpZW50\n-----END CERTIFICATE-----\n"),
		ClientKey:      secret.New("-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0IGtleQ==\n-----END RSA PRIVATE KEY-----\n"),
	}
}

// sleeps records the client's waits between attempts instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// env is one install against a fake: its state dir, store and registrar.
type env struct {
	t      testing.TB
	fake   *humanitectest.Server
	dir    string
	store  *state.Store
	client *Client
	reg    *Registrar
	sleeps *sleeps
}

type envOpt func(*Config, *RegistrarConfig)

func withToken(tok string) envOpt {
	return func(c *Config, _ *RegistrarConfig) { c.Token = secret.New(tok) }
}

func withOrg(org string) envOpt { return func(c *Config, _ *RegistrarConfig) { c.Org = org } }

func withInFlight(n int) envOpt { return func(c *Config, _ *RegistrarConfig) { c.MaxInFlight = n } }

// newEnv makes a fresh install (state dir with the agent key in place)
// against fake.
func newEnv(t testing.TB, fake *humanitectest.Server, opts ...envOpt) *env {
	t.Helper()
	dir := t.TempDir()
	if err := WriteAgentKey(filepath.Join(dir, AgentKeyFile), agentTestKey(t)); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, fake: fake, dir: dir}
	e.open(opts...)
	return e
}

// open (re)opens the install's state and makes a new client and registrar,
// as a new run of pocketidp would.
func (e *env) open(opts ...envOpt) {
	e.t.Helper()
	if e.store != nil {
		e.store.Close()
	}
	st, err := state.Open(e.dir)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := st.Update(func(f *state.File) { f.InstallID = testInstall }); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	e.store = st
	cc := Config{BaseURL: e.fake.URL, Org: humanitectest.DefaultOrg, Token: testToken}
	rc := RegistrarConfig{InstallID: testInstall, Token: testToken, Ledger: st,
		Cluster:      func(context.Context) (ClusterData, error) { return testCluster(), nil },
		AgentKeyPath: filepath.Join(e.dir, AgentKeyFile), Poll: 5 * time.Millisecond}
	for _, o := range opts {
		o(&cc, &rc)
	}
	c, err := New(cc)
	if err != nil {
		e.t.Fatal(err)
	}
	e.sleeps = &sleeps{}
	c.sleep = e.sleeps.sleep
	c.jitter = func() float64 { return 0.5 }
	rc.Client = c
	reg, err := NewRegistrar(rc)
	if err != nil {
		e.t.Fatal(err)
	}
	e.client, e.reg = c, reg
}

// objects returns the state's Humanitec objects as "kind id".
func (e *env) objects() []string {
	var out []string
	for _, o := range e.store.Snapshot().Objects {
		out = append(out, o.Kind+" "+o.ID)
	}
	return out
}

// registered is everything a full registration of testInstall makes, as
// the fake lists it (agent key fingerprints left out).
func registered() []string {
	p := Prefix(testInstall)
	idp, bs := AppID(testInstall), BackstageAppID(testInstall)
	return []string{
		"agent/" + AgentID(testInstall),
		"app/" + bs,
		"app/" + idp,
		"criteria/" + p + "agent/{env_type=5min-local, res_id=agent, class=default}",
		"criteria/" + p + "dns-localhost/{env_type=5min-local, class=default}",
		"criteria/" + p + "ingress-traefik/{env_type=5min-local, class=default}",
		"criteria/" + p + "k8s-cluster/{env_type=5min-local, class=default}",
		"criteria/" + p + "k8s-namespace/{env_type=5min-local, class=default}",
		"criteria/" + p + "mysql/{env_type=5min-local, class=default}",
		"criteria/" + p + "postgres/{env_type=5min-local, class=default}",
		"criteria/" + p + "volume-emptydir/{env_type=5min-local, class=ephemeral}",
		"definition/" + p + "agent",
		"definition/" + p + "dns-localhost",
		"definition/" + p + "ingress-traefik",
		"definition/" + p + "k8s-cluster",
		"definition/" + p + "k8s-namespace",
		"definition/" + p + "mysql",
		"definition/" + p + "postgres",
		"definition/" + p + "volume-emptydir",
		"env-type/5min-local",
		"env/" + bs + "/5min-local",
		"env/" + idp + "/5min-local",
		"value/" + bs + "/CLOUD_PROVIDER",
		"value/" + bs + "/GITHUB_ORG_ID",
		"value/" + bs + "/HUMANITEC_ORG_ID",
		"value/" + bs + "/HUMANITEC_TOKEN",
	}
}

// withoutKeys drops agent-key entries from a fake's object list.
func withoutKeys(objs []string) []string {
	var out []string
	for _, o := range objs {
		if len(o) < 10 || o[:10] != "agent-key/" {
			out = append(out, o)
		}
	}
	return out
}

package orchestrator

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/secret"
	install "github.com/pocketidp/pocketidp/internal/state"
)

var agentKey struct {
	once sync.Once
	key  *rsa.PrivateKey
	err  error
}

// testAgentKey is one 4096-bit key per test binary (making one takes
// seconds on a shared machine).
func testAgentKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	agentKey.once.Do(func() { agentKey.key, agentKey.err = rsa.GenerateKey(rand.Reader, 4096) })
	if agentKey.err != nil {
		t.Fatal(agentKey.err)
	}
	return agentKey.key
}

// PocketIDP's own registrar, unchanged, registers an install with the
// local orchestrator, finds it all in place on a second run, lists it and
// removes it as `down` does: the orchestrator can stand in for Humanitec
// in `up` and `down` by URL, org and token alone.
func TestRegistrarRunsAgainstTheOrchestrator(t *testing.T) {
	sv := serve(t, Config{})
	ctx := context.Background()
	dir := t.TempDir()
	keyPath := filepath.Join(dir, humanitec.AgentKeyFile)
	if err := humanitec.WriteAgentKey(keyPath, testAgentKey(t)); err != nil {
		t.Fatal(err)
	}
	st, err := install.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const installID = "wxyz"
	if err := st.Update(func(f *install.File) { f.InstallID = installID }); err != nil {
		t.Fatal(err)
	}
	c, err := humanitec.New(humanitec.Config{BaseURL: sv.URL, Org: testOrg, Token: secret.New(testToken)})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := humanitec.NewRegistrar(humanitec.RegistrarConfig{Client: c, InstallID: installID, Token: secret.New(testToken),
		Ledger: st, AgentKeyPath: keyPath, Poll: 5 * time.Millisecond,
		Cluster: func(context.Context) (humanitec.ClusterData, error) {
			return humanitec.ClusterData{Server: "https://5min-idp-control-plane:6443", CAData: []byte("-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n"),
				Token: secret.New("cluster-token")}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.RegisterAll(ctx, humanitec.Reporter{}); err != nil {
		t.Fatal(err)
	}
	for _, g := range humanitec.Groups {
		if p, err := reg.Pending(ctx, g); err != nil || len(p) > 0 {
			t.Errorf("after registering, group %s has pending %v, %v", g, p, err)
		}
	}
	inv, err := reg.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Ours) < 10 || len(inv.Foreign) != 0 {
		t.Errorf("inventory: %d ours, foreign %v", len(inv.Ours), inv.Foreign)
	}
	order := slices.Clone(humanitec.Groups)
	slices.Reverse(order)
	for _, g := range order {
		if err := reg.Remove(ctx, g, humanitec.TeardownOptions{}, humanitec.Reporter{}); err != nil {
			t.Fatalf("remove %s: %v", g, err)
		}
	}
	for path, want := range map[string]int{"/apps": 0, "/resources/defs": 0, "/agents": 0, "/env-types": 0} {
		if l := sv.must(200, "GET", orgPath(path), nil).([]any); len(l) != want {
			t.Errorf("after down, %s has %d objects: %v", path, len(l), l)
		}
	}
}

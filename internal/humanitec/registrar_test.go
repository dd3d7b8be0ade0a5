package humanitec

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pocketidp/pocketidp/internal/humanitec/humanitectest"
	"github.com/pocketidp/pocketidp/internal/secret"
)

func TestRegisterAllCreatesEverythingAndReadsBack(t *testing.T) {
	fake := humanitectest.New(t)
	e := newEnv(t, fake)
	ctx := context.Background()
	if err := e.reg.RegisterAll(ctx); err != nil {
		t.Fatal(err)
	}

	if got, want := withoutKeys(fake.Objects(humanitectest.DefaultOrg)), registered(); !slices.Equal(got, want) {
		t.Fatalf("objects in Humanitec:\n got %q\nwant %q", got, want)
	}

	// Every object, read back through the API, is what the spec asked for.
	key, err := LoadAgentKey(e.reg.keyPath)
	if err != nil {
		t.Fatal(err)
	}
	sp := NewSpec(SpecInput{InstallID: testInstall, Org: humanitectest.DefaultOrg, Token: testToken,
		Cluster: testCluster(), AgentPublicKeyPEM: key.PublicPEM})
	c := e.client

	et, err := c.EnvType(ctx, EnvTypeID)
	if err != nil || et != sp.EnvType {
		t.Errorf("env type = %+v, %v; want %+v", et, err, sp.EnvType)
	}
	for _, want := range sp.Apps {
		got, err := c.App(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Exactly the one env: the API's default environment must not
		// have been made.
		if got.Name != want.Name || !reflect.DeepEqual(got.Envs, []EnvBase{*want.Env}) {
			t.Errorf("app %s = %+v; want name %q and envs [%+v]", want.ID, got, want.Name, *want.Env)
		}
	}
	values, err := c.Values(ctx, BackstageAppID(testInstall))
	if err != nil {
		t.Fatal(err)
	}
	if len(values) != len(sp.Values) {
		t.Errorf("%d shared values, want %d", len(values), len(sp.Values))
	}
	for _, want := range sp.Values {
		i := slices.IndexFunc(values, func(v Value) bool { return v.Key == want.Key })
		if i < 0 {
			t.Errorf("shared value %s missing", want.Key)
			continue
		}
		got := values[i]
		if got.Description != want.Description || got.IsSecret != want.IsSecret() {
			t.Errorf("shared value %s = %+v; want %+v", want.Key, got, want)
		}
		if want.IsSecret() {
			stored, _ := fake.SecretValue(humanitectest.DefaultOrg, want.App, want.Key)
			if got.Value != "" || stored != want.Secret.Reveal() {
				t.Errorf("secret %s: read back %q (want empty), stored %q (want the token)", want.Key, got.Value, stored)
			}
		} else if got.Value != want.Value {
			t.Errorf("shared value %s = %q, want %q", want.Key, got.Value, want.Value)
		}
	}
	for _, want := range sp.Definitions {
		got, err := c.Definition(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != want.Name || got.Type != want.Type || got.DriverType != want.DriverType ||
			!sameMap(got.DriverInputs.Values, want.DriverInputs.Values) || !sameMap(got.Provision, want.Provision) ||
			!sameRules(got.Criteria, want.Criteria) {
			t.Errorf("definition %s read back as\n%+v\nwant\n%+v", want.ID, got, want)
		}
		stored := fake.DefinitionSecrets(humanitectest.DefaultOrg, want.ID)
		if !sameMap(stored, revealed(want).DriverInputs.Secrets) {
			t.Errorf("definition %s secrets stored as %v", want.ID, stored)
		}
	}
	agents, err := c.Agents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(agents) != 1 || agents[0].ID != sp.Agent.ID || agents[0].Description != sp.Agent.Description {
		t.Errorf("agents = %+v; want %+v", agents, sp.Agent)
	}
	keys, err := c.AgentKeys(ctx, sp.Agent.ID)
	if err != nil || len(keys) != 1 || keys[0].Fingerprint != key.Fingerprint {
		t.Errorf("agent keys = %+v, %v; want the one with fingerprint %s", keys, err, key.Fingerprint)
	}

	// The state lists every object, the env type included (this install
	// created it).
	var want []string
	want = append(want, KindEnvType+" "+EnvTypeID)
	for _, a := range sp.Apps {
		want = append(want, KindApp+" "+a.ID, KindEnv+" "+a.ID+"/"+EnvTypeID)
	}
	for _, v := range sp.Values {
		want = append(want, KindValue+" "+v.App+"/"+v.Key)
	}
	for _, d := range sp.Definitions {
		want = append(want, KindDefinition+" "+d.ID)
	}
	want = append(want, KindAgent+" "+sp.Agent.ID)
	got := e.objects()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("state objects:\n got %q\nwant %q", got, want)
	}
}

func TestSecondRunMakesNoWrites(t *testing.T) {
	fake := humanitectest.New(t)
	e := newEnv(t, fake)
	ctx := context.Background()
	if err := e.reg.RegisterAll(ctx); err != nil {
		t.Fatal(err)
	}
	fake.ResetCalls()
	e.open() // a new run on the same state
	for _, g := range Groups {
		p, err := e.reg.Pending(ctx, g)
		if err != nil || len(p) != 0 {
			t.Errorf("Pending(%s) = %q, %v; want nothing", g, p, err)
		}
	}
	if err := e.reg.RegisterAll(ctx); err != nil {
		t.Fatal(err)
	}
	if w := fake.Writes(); len(w) != 0 {
		t.Errorf("second run wrote %d times: %+v", len(w), w)
	}
	if len(fake.Calls()) == 0 {
		t.Error("second run made no calls at all: it must read to know")
	}
}

func TestChangedInputsAreUpdated(t *testing.T) {
	fake := humanitectest.New(t)
	e := newEnv(t, fake)
	ctx := context.Background()
	if err := e.reg.RegisterAll(ctx); err != nil {
		t.Fatal(err)
	}
	// A new token and a new cluster CA: the secret value and the
	// k8s-cluster definition are updated in place, nothing else is touched.
	newTok := "hum-rotated-token"
	fake.AddUser(newTok, humanitectest.User{ID: humanitectest.DefaultUserID,
		Roles: map[string]string{"/orgs/" + humanitectest.DefaultOrg: humanitectest.RoleAdministrator}})
	cd := testCluster()
	cd.CAData = []byte("-----BEGIN CERTIFICATE-----\nbmV3IENB\n-----END CERTIFICATE-----\n")
	fake.ResetCalls()
	e.open(func(c *Config, r *RegistrarConfig) {
		c.Token, r.Token = secret.New(newTok), secret.New(newTok)
		r.Cluster = func(context.Context) (ClusterData, error) { return cd, nil }
	})
	if err := e.reg.RegisterAll(ctx); err != nil {
		t.Fatal(err)
	}
	var writes []string
	for _, w := range fake.Writes() {
		writes = append(writes, w.Method+" "+w.Path)
	}
	want := []string{
		"PATCH /orgs/fake-org/apps/5min-backstage-abcd/values/HUMANITEC_TOKEN",
		"PUT /orgs/fake-org/resources/defs/5min-idp-abcd-k8s-cluster",
	}
	slices.Sort(writes)
	if !slices.Equal(writes, want) {
		t.Errorf("writes = %q, want %q", writes, want)
	}
	if v, _ := fake.SecretValue(humanitectest.DefaultOrg, BackstageAppID(testInstall), "HUMANITEC_TOKEN"); v != newTok {
		t.Errorf("HUMANITEC_TOKEN = %q, want the new token", v)
	}
}

// A run cut off after k of its writes (a Ctrl-C, a crash: the request in
// flight may or may not have reached Humanitec) is resumed by the next run,
// which makes every object exactly once.
func TestInterruptedRunResumesWithoutDuplicates(t *testing.T) {
	// Count the creates of a full run first.
	full := humanitectest.New(t)
	if err := newEnv(t, full).reg.RegisterAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	n := len(full.Writes())
	if n < 10 {
		t.Fatalf("a full run made only %d writes", n)
	}

	for _, k := range []int{0, 1, 2, 5, n / 2, n - 1} {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			fake := humanitectest.New(t)
			e := newEnv(t, fake)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var writes atomic.Int32
			fake.OnRequest(func(r *http.Request) {
				// The (k+1)th write still reaches the fake, but its
				// caller is gone before the answer: the worst moment.
				if r.Method != http.MethodGet && int(writes.Add(1)) == k+1 {
					cancel()
				}
			})
			err := e.reg.RegisterAll(ctx)
			// The answer to the cut write races the cancel in net/http's
			// transport, which may take either, and so does every write
			// already in flight beside it (definitions go in parallel):
			// when all of them take the answer, the run did finish, and
			// then every write of a full run must have reached the fake.
			finished := err == nil && int(writes.Load()) == n
			if !errors.Is(err, context.Canceled) && !finished {
				t.Fatalf("interrupted run: err = %v after %d of %d writes, want context.Canceled", err, writes.Load(), n)
			}

			e.open()
			if err := e.reg.RegisterAll(context.Background()); err != nil {
				t.Fatalf("resumed run: %v", err)
			}
			if got := withoutKeys(fake.Objects(humanitectest.DefaultOrg)); !slices.Equal(got, registered()) {
				t.Errorf("objects:\n got %q\nwant %q", got, registered())
			}
			// No object was created twice: every successful create has a
			// path and body id of its own, and no create failed with 409
			// except for a value whose create was interrupted.
			creates := map[string]int{}
			for _, c := range fake.Calls() {
				if c.Method == http.MethodPost && c.Status < 300 && c.Fault == "" {
					creates[c.Path]++
				}
			}
			if creates["/orgs/fake-org/env-types"] != 1 || creates["/orgs/fake-org/apps"] != 2 ||
				creates["/orgs/fake-org/resources/defs"] != 8 || creates["/orgs/fake-org/agents"] != 1 ||
				creates["/orgs/fake-org/apps/5min-backstage-abcd/values"] != 4 {
				t.Errorf("successful creates per path = %v; want each object made once", creates)
			}
			// The state knows every object again, including any whose
			// create answer was lost (adopted by its name).
			objs := e.objects()
			for _, want := range []string{KindApp + " " + AppID(testInstall), KindAgent + " " + AgentID(testInstall),
				KindDefinition + " " + Prefix(testInstall) + DefCluster} {
				if !slices.Contains(objs, want) {
					t.Errorf("state lacks %s: %q", want, objs)
				}
			}
			fake.ResetCalls()
			e.open()
			if err := e.reg.RegisterAll(context.Background()); err != nil {
				t.Fatal(err)
			}
			if w := fake.Writes(); len(w) != 0 {
				t.Errorf("third run wrote %+v", w)
			}
		})
	}
}

func TestEnvTypeOfSomeoneElseIsUsedNotRecorded(t *testing.T) {
	fake := humanitectest.New(t)
	fake.SeedEnvType(humanitectest.DefaultOrg, EnvTypeID)
	e := newEnv(t, fake)
	if err := e.reg.RegisterAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.store.HasObject(KindEnvType, EnvTypeID) {
		t.Error("an env type that existed before was recorded as created by this install")
	}
	for _, c := range fake.Writes() {
		if strings.HasSuffix(c.Path, "/env-types") {
			t.Errorf("existing env type was written: %+v", c)
		}
	}
}

package orchestrator

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/secret"
)

// step is one call of a scenario and the status the document (and the
// Terraform provider, humctl, PocketIDP's client) expect for it.
type step struct {
	name   string
	method string
	path   string
	body   any
	want   int
	// check, when set, looks at the decoded answer.
	check func(t *testing.T, out any)
}

func runSteps(t *testing.T, sv *served, steps []step) {
	t.Helper()
	for _, s := range steps {
		// A step named "invalid: ..." sends what the document forbids.
		sv.mu.Lock()
		sv.invalid = strings.HasPrefix(s.name, "invalid: ")
		sv.mu.Unlock()
		st, out := sv.call(s.method, s.path, s.body)
		if st != s.want {
			t.Fatalf("%s: %s %s = %d, want %d: %v", s.name, s.method, s.path, st, s.want, out)
		}
		if s.check != nil {
			s.check(t, out)
		}
	}
}

func field(out any, keys ...string) any {
	for _, k := range keys {
		m, ok := out.(map[string]any)
		if !ok {
			return nil
		}
		out = m[k]
	}
	return out
}

func wantField(want any, keys ...string) func(*testing.T, any) {
	return func(t *testing.T, out any) {
		t.Helper()
		if got := field(out, keys...); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v (answer %v)", strings.Join(keys, "."), got, want, out)
		}
	}
}

func wantLen(n int) func(*testing.T, any) {
	return func(t *testing.T, out any) {
		t.Helper()
		if l, ok := out.([]any); !ok || len(l) != n {
			t.Errorf("answer has %d items, want %d: %v", len(l), n, out)
		}
	}
}

func TestStatusCodesFollowTheDocument(t *testing.T) {
	sv := serve(t, Config{})
	crit := []map[string]string{{"env_type": "5min-local", "class": "5min"}}
	runSteps(t, sv, []step{
		{"identity", "GET", "/current-user", nil, 200, wantField("administrator", "roles", "/orgs/"+testOrg)},
		{"orgs", "GET", "/orgs", nil, 200, wantLen(1)},
		{"org", "GET", orgPath(), nil, 200, wantField(testOrg, "id")},

		{"env type created", "POST", orgPath("/env-types"), map[string]any{"id": "5min-local", "description": "local"}, 201, nil},
		{"env type twice", "POST", orgPath("/env-types"), map[string]any{"id": "5min-local"}, 409, nil},
		{"env type read", "GET", orgPath("/env-types/5min-local"), nil, 200, wantField("local", "description")},
		{"env type unknown", "GET", orgPath("/env-types/nope"), nil, 404, nil},

		{"app created", "POST", orgPath("/apps"), map[string]any{"id": "shop", "name": "Shop",
			"env": map[string]any{"id": "5min-local", "name": "Local", "type": "5min-local"}}, 201, nil},
		{"app twice", "POST", orgPath("/apps"), map[string]any{"id": "shop", "name": "Shop"}, 409, nil},
		{"invalid: app bad id", "POST", orgPath("/apps"), map[string]any{"id": "Shop_1", "name": "x"}, 400, nil},
		{"app env type missing", "POST", orgPath("/apps"), map[string]any{"id": "x1", "name": "x",
			"env": map[string]any{"id": "e1", "name": "e", "type": "nope"}}, 400, nil},
		{"env type in use", "DELETE", orgPath("/env-types/5min-local"), nil, 409, nil},
		{"app read", "GET", orgPath("/apps/shop"), nil, 200, func(t *testing.T, out any) {
			if envs := field(out, "envs").([]any); len(envs) != 1 {
				t.Errorf("envs = %v, want only 5min-local", envs)
			}
		}},
		{"env created", "POST", orgPath("/apps/shop/envs"), map[string]any{"id": "staging", "name": "Staging", "type": "5min-local"}, 201, nil},
		{"env twice", "POST", orgPath("/apps/shop/envs"), map[string]any{"id": "staging", "name": "Staging", "type": "5min-local"}, 409, nil},
		{"env from a deploy that is not there", "POST", orgPath("/apps/shop/envs"), map[string]any{"id": "pr-1", "name": "PR", "type": "5min-local", "from_deploy_id": "0000"}, 400, nil},
		{"envs", "GET", orgPath("/apps/shop/envs"), nil, 200, wantLen(2)},
		{"env deleted", "DELETE", orgPath("/apps/shop/envs/staging"), nil, 204, nil},
		{"last env kept", "DELETE", orgPath("/apps/shop/envs/5min-local"), nil, 400, nil},
		{"env gone", "GET", orgPath("/apps/shop/envs/staging"), nil, 404, nil},

		{"value", "POST", orgPath("/apps/shop/values"), map[string]any{"key": "A", "value": "1", "description": "a", "is_secret": false}, 201, wantField("1", "value")},
		{"value twice", "POST", orgPath("/apps/shop/values"), map[string]any{"key": "A", "value": "1", "description": "a", "is_secret": false}, 409, nil},
		{"value patched", "PATCH", orgPath("/apps/shop/values/A"), map[string]any{"value": "2"}, 200, wantField("2", "value")},
		{"invalid: value replaced needs both", "PUT", orgPath("/apps/shop/values/A"), map[string]any{"value": "3"}, 400, nil},
		{"value deleted", "DELETE", orgPath("/apps/shop/values/A"), nil, 204, nil},
		{"value gone", "DELETE", orgPath("/apps/shop/values/A"), nil, 404, nil},

		{"types", "GET", orgPath("/resources/types"), nil, 200, nil},
		{"class created", "POST", orgPath("/resources/types/postgres/classes"), map[string]any{"id": "5min", "description": "Specifically to be used when using 5min IDP settings"}, 200, wantField("postgres", "resource_type")},
		{"class twice", "POST", orgPath("/resources/types/postgres/classes"), map[string]any{"id": "5min", "description": "again"}, 409, nil},
		{"class read", "GET", orgPath("/resources/types/postgres/classes/5min"), nil, 200, nil},
		{"classes", "GET", orgPath("/resources/classes"), nil, 200, wantLen(1)},

		{"definition created", "POST", orgPath("/resources/defs"), map[string]any{"id": "pg-def", "name": "pg", "type": "postgres",
			"driver_type": "humanitec/echo", "driver_inputs": map[string]any{"values": map[string]any{"host": "h"}}}, 200, wantField([]any{}, "criteria")},
		{"definition twice", "POST", orgPath("/resources/defs"), map[string]any{"id": "pg-def", "name": "pg", "type": "postgres", "driver_type": "humanitec/echo"}, 409, nil},
		{"criteria put", "PUT", orgPath("/resources/defs/pg-def/criteria"), crit, 200, wantLen(1)},
		{"criteria clash", "POST", orgPath("/resources/defs"), map[string]any{"id": "pg-def2", "name": "pg2", "type": "postgres",
			"driver_type": "humanitec/echo", "criteria": crit}, 409, nil},
		{"criterion added", "POST", orgPath("/resources/defs/pg-def/criteria"), map[string]any{"app_id": "shop"}, 200, wantField("default", "class")},
		{"criterion twice", "POST", orgPath("/resources/defs/pg-def/criteria"), map[string]any{"app_id": "shop"}, 409, nil},
		{"definition read", "GET", orgPath("/resources/defs/pg-def"), nil, 200, func(t *testing.T, out any) {
			if c := field(out, "criteria").([]any); len(c) != 2 {
				t.Errorf("criteria = %v, want 2", c)
			}
		}},
		{"definition updated", "PUT", orgPath("/resources/defs/pg-def"), map[string]any{"name": "pg renamed", "driver_type": "humanitec/echo"}, 200, wantField("pg renamed", "name")},
		{"definition deleted", "DELETE", orgPath("/resources/defs/pg-def"), nil, 204, nil},
		{"deleted is gone", "GET", orgPath("/resources/defs/pg-def"), nil, 404, nil},
		{"deleted on request", "GET", orgPath("/resources/defs/pg-def?deleted=true"), nil, 200, wantField(true, "is_deleted")},
		{"deleted not listed", "GET", orgPath("/resources/defs"), nil, 200, wantLen(0)},
		{"recreated after delete", "POST", orgPath("/resources/defs"), map[string]any{"id": "pg-def", "name": "pg", "type": "postgres", "driver_type": "humanitec/echo", "criteria": crit}, 200, nil},
		{"class deleted", "DELETE", orgPath("/resources/types/postgres/classes/5min"), nil, 204, nil},

		{"artefact", "POST", orgPath("/artefact-versions"), map[string]any{"type": "container", "name": "localhost:5001/backstage",
			"version": "abc1234", "ref": "refs/heads/main", "commit": "abc1234def"}, 200, wantField("abc1234", "version")},
		{"invalid: artefact bad ref", "POST", orgPath("/artefact-versions"), map[string]any{"type": "container", "name": "x", "ref": "main"}, 400, nil},
		{"artefacts", "GET", orgPath("/artefact-versions?name=localhost:5001/backstage"), nil, 200, wantLen(1)},

		{"app deleted", "DELETE", orgPath("/apps/shop"), nil, 204, nil},
		{"app gone", "GET", orgPath("/apps/shop"), nil, 404, nil},
		{"env type deleted", "DELETE", orgPath("/env-types/5min-local"), nil, 204, nil},
	})
}

func TestTokenOrgAndUnservedRoutes(t *testing.T) {
	sv := serve(t, Config{})
	for _, tc := range []struct {
		name, token, method, path string
		want                      int
		message                   string
	}{
		{"no token", "", "GET", "/current-user", 401, "token"},
		{"other token", "hum-someone-else", "GET", orgPath("/apps"), 401, "token"},
		{"other org", testToken, "GET", "/orgs/humanitec-architecture/apps", 403, "humanitec-architecture"},
		{"not served", testToken, "GET", orgPath("/pipelines"), 501, "GET /orgs/" + testOrg + "/pipelines"},
		{"not served method", testToken, "DELETE", orgPath("/artefacts/x"), 501, "DELETE /orgs/" + testOrg + "/artefacts/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, out := sv.callAs(tc.token, tc.method, tc.path, nil)
			if st != tc.want {
				t.Fatalf("%s %s = %d, want %d", tc.method, tc.path, st, tc.want)
			}
			if msg, _ := field(out, "message").(string); !strings.Contains(msg, tc.message) {
				t.Errorf("message %q does not name %q", msg, tc.message)
			}
		})
	}
}

func TestSecretsAreNeverReturned(t *testing.T) {
	sv := serve(t, Config{})
	const secretValue, driverSecret = "s3cr3t-shared-value", "s3cr3t-driver-password"
	runSteps(t, sv, []step{
		{"env type", "POST", orgPath("/env-types"), map[string]any{"id": "5min-local"}, 201, nil},
		{"app", "POST", orgPath("/apps"), map[string]any{"id": "shop", "name": "Shop", "skip_environment_creation": true}, 201, nil},
		{"secret value", "POST", orgPath("/apps/shop/values"), map[string]any{"key": "TOKEN", "value": secretValue, "description": "t", "is_secret": true}, 201, wantField("", "value")},
		{"secret value patched", "PATCH", orgPath("/apps/shop/values/TOKEN"), map[string]any{"value": secretValue + "2"}, 200, wantField("2", "secret_version")},
		{"definition with secret", "POST", orgPath("/resources/defs"), map[string]any{"id": "db-def", "name": "db", "type": "postgres", "driver_type": "humanitec/echo",
			"driver_inputs": map[string]any{"values": map[string]any{"host": "h"}, "secrets": map[string]any{"password": driverSecret}}}, 200,
			func(t *testing.T, out any) {
				if field(out, "driver_inputs", "secrets") != nil || field(out, "driver_inputs", "secret_refs", "password") == nil {
					t.Errorf("driver inputs = %v, want secret_refs and no secrets", field(out, "driver_inputs"))
				}
			}},
	})
	for _, path := range []string{orgPath("/apps/shop/values"), orgPath("/resources/defs"), orgPath("/resources/defs/db-def")} {
		_, out := sv.call("GET", path, nil)
		if s := fmt.Sprint(out); strings.Contains(s, "s3cr3t") {
			t.Errorf("GET %s gives a secret back: %s", path, s)
		}
	}
	// Stored, but only in the collections a Store keeps as secrets.
	found := false
	for name, b := range sv.store.Snapshot() {
		if strings.Contains(string(b), "s3cr3t") {
			found = true
			if !IsSecretCollection(name) {
				t.Errorf("collection %s (not secret) holds a secret: %s", name, b)
			}
		}
	}
	if !found {
		t.Error("the secrets were not stored at all")
	}
	// A deployment gets them.
	sv.srv.mu.Lock()
	vals := sv.srv.st.sharedValues(sv.srv.st.Apps["shop"])
	sec := sv.srv.st.defSecrets(sv.srv.st.Defs["db-def"])
	sv.srv.mu.Unlock()
	if vals["TOKEN"] != secretValue+"2" || sec["password"] != driverSecret {
		t.Errorf("a deployment would get TOKEN=%q and password=%q", vals["TOKEN"], sec["password"])
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	store := NewMemoryStore()
	sv := serve(t, Config{Store: store})
	sv.must(201, "POST", orgPath("/env-types"), map[string]any{"id": "5min-local"})
	sv.must(201, "POST", orgPath("/apps"), map[string]any{"id": "shop", "name": "Shop", "env": map[string]any{"id": "5min-local", "name": "L", "type": "5min-local"}})
	sv.must(200, "POST", orgPath("/resources/types/postgres/classes"), map[string]any{"id": "5min", "description": "d"})
	saves := store.Saves()
	sv.must(200, "GET", orgPath("/apps"), nil)
	if store.Saves() != saves {
		t.Errorf("a read saved the state (%d saves, then %d)", saves, store.Saves())
	}

	again := serve(t, Config{Store: store})
	again.must(200, "GET", orgPath("/apps/shop/envs/5min-local"), nil)
	again.must(200, "GET", orgPath("/resources/types/postgres/classes/5min"), nil)

	if _, err := New(context.Background(), Config{Org: "another-org", Token: secret.New("x"), Store: store}); err == nil || !strings.Contains(err.Error(), testOrg) {
		t.Errorf("a server for another org on the same state: %v, want an error naming %s", err, testOrg)
	}
}

// PocketIDP's own registration payloads (humanitec.NewSpec), sent by its
// own client, are what the orchestrator must accept as they are.
func TestAcceptsPocketIDPRegistration(t *testing.T) {
	sv := serve(t, Config{})
	ctx := context.Background()
	c, err := humanitec.New(humanitec.Config{BaseURL: sv.URL, Org: testOrg, Token: secret.New(testToken)})
	if err != nil {
		t.Fatal(err)
	}
	sp := humanitec.NewSpec(humanitec.SpecInput{InstallID: "abcd", Org: testOrg, Token: secret.New("backstage-token")})
	if err := c.CreateEnvType(ctx, sp.EnvType); err != nil {
		t.Fatal(err)
	}
	for _, a := range sp.Apps {
		if err := c.CreateApp(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range sp.Values {
		in := humanitec.ValueCreate{Key: v.Key, Description: v.Description, Value: v.Value, IsSecret: v.IsSecret()}
		if v.IsSecret() {
			in.Value = v.Secret.Reveal()
		}
		if err := c.CreateValue(ctx, v.App, in); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range sp.Definitions {
		if err := c.CreateDefinition(ctx, d); err != nil {
			t.Fatalf("definition %s: %v", d.ID, err)
		}
		got, err := c.Definition(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != d.Type || got.DriverType != d.DriverType || len(got.Criteria) != len(d.Criteria) {
			t.Errorf("definition %s read back as %+v", d.ID, got)
		}
		if d.DriverInputs != nil && d.DriverInputs.Values != nil && !reflect.DeepEqual(normalized(got.DriverInputs.Values), normalized(d.DriverInputs.Values)) {
			t.Errorf("definition %s values read back as %v, want %v", d.ID, got.DriverInputs.Values, d.DriverInputs.Values)
		}
	}
	apps, err := c.Apps(ctx)
	if err != nil || len(apps) != 2 {
		t.Fatalf("apps = %v, %v", apps, err)
	}
	values, err := c.Values(ctx, humanitec.BackstageAppID("abcd"))
	if err != nil || len(values) != len(sp.Values) {
		t.Fatalf("values = %v, %v", values, err)
	}
	// Teardown as `down` does it.
	for _, d := range sp.Definitions {
		if err := c.DeleteDefinition(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range sp.Apps {
		if err := c.DeleteApp(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.DeleteEnvType(ctx, sp.EnvType.ID); err != nil {
		t.Fatal(err)
	}
}

func normalized(v any) any {
	var out any
	deepCopy(v, &out)
	return out
}

var _ = http.StatusOK

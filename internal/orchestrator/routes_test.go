package orchestrator

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Every route the orchestrator serves is called here at least once, through
// the harness that validates requests and answers against the document.
func TestEveryRouteAgainstTheDocument(t *testing.T) {
	dep := &stubDeployer{}
	sv := serve(t, Config{Deployer: dep})
	setupApp(sv)
	app, env := orgPath("/apps/shop"), orgPath("/apps/shop/envs/5min-local")
	runSteps(t, sv, []step{
		{"user", "GET", "/current-user", nil, 200, nil},
		{"orgs", "GET", "/orgs", nil, 200, nil},
		{"org", "GET", orgPath(), nil, 200, nil},
		{"env types", "GET", orgPath("/env-types"), nil, 200, wantLen(1)},
		{"env type", "GET", orgPath("/env-types/5min-local"), nil, 200, nil},
		{"env type 2", "POST", orgPath("/env-types"), map[string]any{"id": "preview"}, 201, nil},
		{"env type 2 gone", "DELETE", orgPath("/env-types/preview"), nil, 204, nil},
		{"apps", "GET", orgPath("/apps"), nil, 200, wantLen(1)},
		{"app", "GET", app, nil, 200, nil},
		{"envs", "GET", app + "/envs", nil, 200, nil},
		{"env", "GET", env, nil, 200, nil},
		{"values", "GET", app + "/values", nil, 200, nil},
		{"value", "POST", app + "/values", map[string]any{"key": "K", "value": "v", "description": "d", "is_secret": false}, 201, nil},
		{"value put", "PUT", app + "/values/K", map[string]any{"value": "w", "description": "d2"}, 200, wantField("w", "value")},
		{"value patch", "PATCH", app + "/values/K", map[string]any{"description": "d3"}, 200, wantField("d3", "description")},
		{"value delete", "DELETE", app + "/values/K", nil, 204, nil},
		{"types", "GET", orgPath("/resources/types"), nil, 200, nil},
		{"classes", "GET", orgPath("/resources/classes"), nil, 200, nil},
		{"class", "POST", orgPath("/resources/types/dns/classes"), map[string]any{"id": "wild", "description": "d"}, 200, nil},
		{"class get", "GET", orgPath("/resources/types/dns/classes/wild"), nil, 200, nil},
		{"class delete", "DELETE", orgPath("/resources/types/dns/classes/wild"), nil, 204, nil},
		{"defs", "GET", orgPath("/resources/defs"), nil, 200, nil},
		{"def", "POST", orgPath("/resources/defs"), map[string]any{"id": "dns-def", "name": "dns", "type": "dns", "driver_type": "humanitec/dns-wildcard",
			"driver_inputs": map[string]any{"values": map[string]any{"domain": "localhost"}}, "criteria": []any{map[string]any{"env_type": "5min-local"}}}, 200, nil},
		{"def get", "GET", orgPath("/resources/defs/dns-def"), nil, 200, nil},
		{"def put", "PUT", orgPath("/resources/defs/dns-def"), map[string]any{"name": "dns 2", "driver_type": "humanitec/dns-wildcard"}, 200, nil},
		{"def patch", "PATCH", orgPath("/resources/defs/dns-def"), map[string]any{"driver_inputs": map[string]any{"values": map[string]any{"template": "x", "domain": nil},
			"secrets": map[string]any{"k": "s3cr3t"}}}, 200, func(t *testing.T, out any) {
			if v := field(out, "driver_inputs", "values"); !reflect.DeepEqual(v, map[string]any{"template": "x"}) || field(out, "driver_inputs", "secret_refs", "k") == nil || field(out, "name") != "dns 2" {
				t.Errorf("patched definition = %v", out)
			}
		}},
		{"criteria put", "PUT", orgPath("/resources/defs/dns-def/criteria"), []any{map[string]any{"env_type": "5min-local"}}, 200, nil},
		{"criterion", "POST", orgPath("/resources/defs/dns-def/criteria"), map[string]any{"app_id": "shop"}, 200, nil},
		{"graph", "POST", env + "/resources/graph", []any{map[string]any{"id": "modules.web.externals.dns", "type": "dns"}}, 200,
			func(t *testing.T, out any) {
				if l := out.([]any); len(l) != 1 || field(l[0], "def_id") != "dns-def" {
					t.Errorf("graph = %v", out)
				}
			}},
		{"delta", "POST", app + "/deltas", map[string]any{"metadata": map[string]any{"env_id": "5min-local"}, "modules": map[string]any{"add": map[string]any{"web": webModule}}}, 200, nil},
		{"deltas", "GET", app + "/deltas", nil, 200, wantLen(1)},
		{"deltas of env", "GET", app + "/deltas?env=staging", nil, 200, wantLen(0)},
		{"deploys", "GET", env + "/deploys", nil, 200, wantLen(0)},
		{"runtime before any deployment", "GET", env + "/runtime", nil, 400, nil},
		{"artefact", "POST", orgPath("/artefact-versions"), map[string]any{"type": "container", "name": "localhost:5001/web", "version": "1"}, 200, nil},
		{"artefacts", "GET", orgPath("/artefact-versions?reference=localhost:5001/web:1"), nil, 200, wantLen(1)},
	})
	_, deltas := sv.call("GET", app+"/deltas", nil)
	deltaID := field(deltas.([]any)[0], "id").(string)
	sv.must(200, "GET", app+"/deltas/"+deltaID, nil)
	sv.must(200, "PATCH", app+"/deltas/"+deltaID, []any{map[string]any{"metadata": map[string]any{"name": "renamed"}}})
	d := sv.must(201, "POST", env+"/deploys", map[string]any{"delta_id": deltaID})
	id := field(d, "id").(string)
	waitStatus(t, sv, env+"/deploys/"+id)
	sv.must(200, "GET", env+"/deploys/"+id+"/errors", nil)
	if rt := sv.must(200, "GET", env+"/runtime", nil); field(rt, "modules", "web", "profile") != "humanitec/default-module" {
		t.Errorf("runtime = %v", rt)
	}
	setID := field(sv.must(200, "GET", env+"/deploys/"+id, nil), "set_id").(string)
	if sets := sv.must(200, "GET", app+"/sets", nil).([]any); len(sets) != 1 || field(sets[0], "id") != setID {
		t.Errorf("sets = %v, want the deployment's %s", sets, setID)
	}
	if got := sv.must(200, "GET", app+"/sets/"+setID, nil); field(got, "modules", "web", "profile") != "humanitec/default-module" {
		t.Errorf("set = %v", got)
	}
	sv.must(404, "GET", app+"/sets/nope", nil)
	next := sv.must(200, "POST", app+"/sets/"+setID, map[string]any{"modules": map[string]any{"remove": []any{"web"}}})
	if got := sv.must(200, "GET", app+"/sets/"+next.(string), nil); len(field(got, "modules").(map[string]any)) != 0 {
		t.Errorf("set after removing web = %v", got)
	}
	if sv.must(200, "POST", app+"/sets/0", map[string]any{}) != (Set{}).id() {
		t.Error("the empty set's delta-free update is not the empty set")
	}
	sv.must(200, "GET", env+"/resources", nil)
	sv.must(200, "GET", orgPath("/resources/defs/dns-def/resources"), nil)
	sv.must(201, "POST", app+"/envs", map[string]any{"id": "staging", "name": "Staging", "type": "5min-local"})
	sv.must(204, "PUT", app+"/envs/staging/from_deploy_id", id)
	if got := sv.must(200, "GET", app+"/envs/staging", nil); field(got, "from_deploy", "id") != id {
		t.Errorf("rebased env from_deploy = %v", field(got, "from_deploy"))
	}
	sv.must(204, "DELETE", app+"/envs/staging", nil)
	_, av := sv.call("GET", orgPath("/artefact-versions"), nil)
	sv.must(200, "GET", orgPath("/artefact-versions/", field(av.([]any)[0], "id").(string)), nil)
	def := sv.must(200, "GET", orgPath("/resources/defs/dns-def"), nil)
	crit := field(def, "criteria").([]any)
	sv.must(409, "DELETE", orgPath("/resources/defs/dns-def/criteria/", field(crit[0], "id").(string)), nil) // in use
	sv.must(204, "DELETE", orgPath("/resources/defs/dns-def/criteria/", field(crit[0], "id").(string), "?force=true"), nil)
	sv.must(204, "DELETE", orgPath("/resources/defs/dns-def?force=true"), nil)
	sv.must(204, "DELETE", app, nil)

	der, err := x509.MarshalPKIXPublicKey(&testAgentKey(t).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	sum := sha256.Sum256(der)
	fp := hex.EncodeToString(sum[:])
	runSteps(t, sv, []step{
		{"agent", "POST", orgPath("/agents"), map[string]any{"id": "local-agent", "public_key": pub, "description": "d"}, 200, nil},
		{"agent twice", "POST", orgPath("/agents"), map[string]any{"id": "local-agent", "public_key": pub}, 409, nil},
		{"agents by key", "GET", orgPath("/agents?fingerprint=" + fp), nil, 200, wantLen(1)},
		{"agent patched", "PATCH", orgPath("/agents/local-agent"), map[string]any{"description": "e"}, 200, wantField("e", "description")},
		{"keys", "GET", orgPath("/agents/local-agent/keys"), nil, 200, wantLen(1)},
		{"key twice", "POST", orgPath("/agents/local-agent/keys"), map[string]any{"public_key": pub}, 409, nil},
		{"key deleted", "DELETE", orgPath("/agents/local-agent/keys/" + fp), nil, 204, nil},
		{"agent deleted", "DELETE", orgPath("/agents/local-agent"), nil, 204, nil},
	})

	// Which routes were called: each call is matched to its pattern.
	mux := http.NewServeMux()
	for p := range apiRoutes() {
		mux.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}
	called := map[string]bool{}
	sv.mu.Lock()
	for _, c := range sv.calls {
		method, path, _ := strings.Cut(c, " ")
		r, _ := http.NewRequest(method, "http://x"+path, nil)
		_, pattern := mux.Handler(r)
		called[pattern] = true
	}
	sv.mu.Unlock()
	for _, p := range slices.Sorted(maps.Keys(apiRoutes())) {
		if !called[p] {
			t.Errorf("route %s was not called", p)
		}
	}
}

package humanitectest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// recTB records the errors the fake reports instead of failing the test, so
// that a test can check the fake does fail tests when it must.
type recTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recTB) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}

func call(t *testing.T, s *Server, token, method, path, body string) (int, string, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

const orgP = "/orgs/" + DefaultOrg

// A request the document rejects fails the test that made it.
func TestRequestsTheDocumentRejectsFailTheTest(t *testing.T) {
	cases := []struct {
		name, method, path, body string
		want                     string // in the reported error
	}{
		{"unknown field", "POST", orgP + "/apps", `{"id":"my-app","name":"x","skip_env_creation":true}`, "skip_env_creation"},
		{"missing required field", "POST", orgP + "/env-types", `{"description":"no id"}`, `"id"`},
		{"id breaks the pattern", "POST", orgP + "/env-types", `{"id":"Bad_ID"}`, "pattern"},
		{"wrong type", "POST", orgP + "/apps/x/values", `{"key":"K","description":"d","is_secret":"yes"}`, "is_secret"},
		{"unknown deployment field", "POST", orgP + "/apps/x/envs/y/deploys", `{"comment":"c","delta":"d"}`, "delta"},
		{"body where none is allowed", "GET", orgP + "/apps", `{"id":"x"}`, "body"},
		{"path the document lacks", "GET", orgP + "/no-such-thing", "", "not an operation"},
		{"method the document lacks", "PUT", orgP + "/apps", `{}`, "not an operation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rt := &recTB{TB: t}
			s := New(rt)
			status, _, _ := call(t, s, DefaultToken, tc.method, tc.path, tc.body)
			errs := rt.errors()
			if len(errs) == 0 {
				t.Fatalf("the fake accepted %s %s %s (status %d) without failing the test", tc.method, tc.path, tc.body, status)
			}
			if !strings.Contains(strings.Join(errs, "\n"), tc.want) {
				t.Errorf("reported %q, want it to mention %q", errs, tc.want)
			}
			if status < 400 {
				t.Errorf("status %d for a rejected request", status)
			}
		})
	}
}

func TestSemantics(t *testing.T) {
	rt := &recTB{TB: t}
	s := New(rt, WithDeleteDelay(30*time.Millisecond))
	type step struct {
		method, path, body string
		status             int
		contains           string
	}
	steps := []step{
		{"GET", "/current-user", "", 200, `"/orgs/fake-org":"administrator"`},
		{"GET", orgP, "", 200, `"id":"fake-org"`},
		{"POST", orgP + "/env-types", `{"id":"5min-local","description":"d"}`, 201, `"id":"5min-local"`},
		{"POST", orgP + "/env-types", `{"id":"5min-local","description":"d"}`, 409, "already exists"},
		{"POST", orgP + "/apps", `{"id":"a1","name":"a1","env":{"id":"5min-local","name":"n","type":"5min-local"}}`, 201, `"envs":[{"id":"5min-local","name":"n","type":"5min-local"}]`},
		{"POST", orgP + "/apps", `{"id":"a1","name":"a1"}`, 409, "already exists"},
		{"POST", orgP + "/apps", `{"id":"a2","name":"a2","env":{"id":"xx","name":"n","type":"missing"}}`, 400, "does not exist"},
		{"POST", orgP + "/apps", `{"id":"a3","name":"a3"}`, 201, `"id":"development"`},
		{"POST", orgP + "/apps/a1/values", `{"key":"S","description":"d","value":"hush","is_secret":true}`, 201, `"value":""`},
		{"GET", orgP + "/apps/a1/values", "", 200, `"secret_store_id":"humanitec"`},
		{"POST", orgP + "/resources/defs", `{"id":"def-1","name":"def-1","type":"dns","driver_type":"humanitec/echo","criteria":[{"env_type":"5min-local"}]}`, 200, `"class":"default"`},
		{"POST", orgP + "/resources/defs", `{"id":"def-2","name":"def-2","type":"dns","driver_type":"humanitec/echo","criteria":[{"env_type":"5min-local"}]}`, 409, "already used by resource definition def-1"},
		{"POST", orgP + "/resources/defs", `{"id":"def-1","name":"def-1","type":"dns","driver_type":"humanitec/echo"}`, 409, "already exists"},
		{"DELETE", orgP + "/env-types/5min-local", "", 409, `"app_id":"a1"`},
		{"DELETE", orgP + "/apps/a1", "", 202, ""},
		{"GET", orgP + "/apps/a1", "", 200, `"status":"deleting"`},
		{"DELETE", orgP + "/env-types/5min-local", "", 409, `"app_id":"a1"`},
		{"GET", orgP + "/apps/nope", "", 404, "not found"},
		{"POST", orgP + "/agents", `{"id":"ag","public_key":"not a key"}`, 400, "PUBLIC KEY"},
		{"GET", "/orgs/other-org", "", 403, "no access"},
	}
	for _, st := range steps {
		status, body, _ := call(t, s, DefaultToken, st.method, st.path, st.body)
		if status != st.status || !strings.Contains(body, st.contains) {
			t.Errorf("%s %s %s = %d %s; want %d containing %q", st.method, st.path, st.body, status, body, st.status, st.contains)
		}
	}
	// The app goes away by itself, and then the env type may go.
	time.Sleep(60 * time.Millisecond)
	if status, _, _ := call(t, s, DefaultToken, "GET", orgP+"/apps/a1", ""); status != 404 {
		t.Errorf("deleted app answers %d after the delay, want 404", status)
	}
	call(t, s, DefaultToken, "DELETE", orgP+"/apps/a3", "") // a3 also has no 5min-local env
	if status, body, _ := call(t, s, DefaultToken, "DELETE", orgP+"/env-types/5min-local", ""); status != 204 {
		t.Errorf("delete of the unused env type = %d %s", status, body)
	}
	if errs := rt.errors(); len(errs) > 0 {
		t.Errorf("valid requests failed validation: %q", errs)
	}
}

// Deployments move on as scripted, and every answer about them passes the
// document.
func TestDeploymentScripts(t *testing.T) {
	rt := &recTB{TB: t}
	s := New(rt)
	deploys := orgP + "/apps/a1/envs/5min-local/deploys"
	for _, st := range [][2]string{
		{orgP + "/env-types", `{"id":"5min-local"}`},
		{orgP + "/apps", `{"id":"a1","name":"a1","env":{"id":"5min-local","name":"n","type":"5min-local"}}`},
		{orgP + "/resources/defs", `{"id":"dns-1","name":"dns-1","type":"dns","driver_type":"humanitec/dns-wildcard","criteria":[{"env_type":"5min-local"}]}`},
	} {
		if status, body, _ := call(t, s, DefaultToken, "POST", st[0], st[1]); status >= 300 {
			t.Fatalf("POST %s = %d %s", st[0], status, body)
		}
	}
	// deploy POSTs a deployment and returns its id.
	deploy := func(comment string) string {
		t.Helper()
		status, body, _ := call(t, s, DefaultToken, "POST", deploys, `{"comment":"`+comment+`","delta_id":"d1"}`)
		var d struct{ ID, Status string }
		if err := json.Unmarshal([]byte(body), &d); status != 201 || err != nil || d.Status != "in progress" {
			t.Fatalf("POST %s = %d %s; want 201 with a deployment in progress", deploys, status, body)
		}
		return d.ID
	}
	// expect GETs path and wants status and every one of want in the answer.
	expect := func(path string, status int, want ...string) {
		t.Helper()
		got, body, _ := call(t, s, DefaultToken, "GET", path, "")
		if got != status {
			t.Errorf("GET %s = %d %s, want %d", path, got, body, status)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s = %s, want it to contain %s", path, body, w)
			}
		}
	}

	expect(deploys, 200, "[]")
	first := deploy("first")
	if status, body, _ := call(t, s, DefaultToken, "POST", deploys, `{"delta_id":"d2"}`); status != 409 || !strings.Contains(body, "already an active deployment") {
		t.Errorf("second POST while one is in progress = %d %s, want 409", status, body)
	}
	// Unscripted, it stays in progress; scripted, it finishes.
	expect(deploys+"/"+first, 200, `"status":"in progress"`)
	s.ScriptDeploys(DefaultOrg, "a1", "5min-local", DeployScript{Host: "a1-x7k2.localhost"})
	expect(deploys+"/"+first, 200, `"status":"succeeded"`)
	expect(deploys+"/"+first+"/errors", 200, "[]")
	expect(orgP+"/apps/a1/envs/5min-local/resources", 200, `"host":"a1-x7k2.localhost"`,
		`"res_id":"`+DefaultDNSResID+`"`, `"def_id":"dns-1"`, `"deploy_id":"`+first+`"`)

	s.ScriptDeploys(DefaultOrg, "a1", "5min-local", DeployScript{Fail: true, Errors: []DeployError{
		{Scope: "workload", ObjectID: "backstage", Code: "CON-001", Summary: "Container failed", Message: "ImagePullBackOff"}}})
	second := deploy("second")
	expect(deploys+"/"+second, 200, `"status":"failed"`, `"from_id":"`+first+`"`)
	expect(deploys+"/"+second+"/errors", 200, `"message":"ImagePullBackOff"`, `"object_id":"backstage"`)

	// The time in progress counts from the POST: still in progress when
	// read right after it, succeeded once InProgressFor has passed since
	// that read. A second, so a loaded machine still makes the first read
	// in time.
	const inProgress = time.Second
	s.ScriptDeploys(DefaultOrg, "a1", "5min-local", DeployScript{InProgressFor: inProgress, Host: "a1-new.localhost"})
	third := deploy("third")
	expect(deploys+"/"+third, 200, `"status":"in progress"`)
	time.Sleep(inProgress)
	expect(deploys+"/"+third, 200, `"status":"succeeded"`)
	expect(orgP+"/apps/a1/envs/5min-local/resources", 200, `"host":"a1-new.localhost"`)

	// Newest first, a seeded one from an hour ago last.
	old := s.SeedDeploy(DefaultOrg, "a1", "5min-local", Deploy{Comment: "old", CreatedAt: time.Now().Add(-time.Hour),
		Script: &DeployScript{Fail: true}})
	_, body, _ := call(t, s, DefaultToken, "GET", deploys, "")
	var list []struct{ ID, Status string }
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range list {
		ids = append(ids, d.ID)
	}
	if want := []string{third, second, first, old}; !slices.Equal(ids, want) {
		t.Errorf("deployments listed as %q, want newest first %q", ids, want)
	}
	expect(deploys+"/"+old+"/errors", 200, `"summary":"Deployment failed"`)

	expect(deploys+"/nope", 404, "not found")
	expect(orgP+"/apps/nope/envs/5min-local/deploys", 404, "Application nope")
	expect(orgP+"/apps/a1/envs/nope/resources", 404, "Environment nope")
	if errs := rt.errors(); len(errs) > 0 {
		t.Errorf("answers failed validation: %q", errs)
	}
}

func TestAuth(t *testing.T) {
	rt := &recTB{TB: t}
	s := New(rt)
	s.AddUser("member-token", User{ID: "m", Roles: map[string]string{"/orgs/" + DefaultOrg: RoleMember}})
	cases := []struct {
		token, method, path, body string
		status                    int
	}{
		{"", "GET", orgP, "", 401},
		{"wrong", "GET", "/current-user", "", 401},
		{"member-token", "GET", orgP + "/apps", "", 200},
		{"member-token", "POST", orgP + "/env-types", `{"id":"x-y"}`, 403},
		{DefaultToken, "GET", "/orgs/someone-else", "", 403},
	}
	for _, tc := range cases {
		if status, body, _ := call(t, s, tc.token, tc.method, tc.path, tc.body); status != tc.status {
			t.Errorf("%q %s %s = %d %s, want %d", tc.token, tc.method, tc.path, status, body, tc.status)
		}
	}
	if errs := rt.errors(); len(errs) > 0 {
		t.Errorf("answers failed validation: %q", errs)
	}
}

func TestFaults(t *testing.T) {
	s := New(t)
	s.Inject(Fault{Method: "GET", Path: orgP + "/apps", Status: 429, RetryAfter: "7", Times: 2})
	s.Inject(Fault{Method: "POST", Status: 503})
	for range 2 {
		status, body, hdr := call(t, s, DefaultToken, "GET", orgP+"/apps", "")
		if status != 429 || hdr.Get("Retry-After") != "7" || !strings.Contains(body, `"error":"API-429"`) {
			t.Errorf("fault answer = %d %q %s", status, hdr.Get("Retry-After"), body)
		}
	}
	if status, _, _ := call(t, s, DefaultToken, "GET", orgP+"/apps", ""); status != 200 {
		t.Errorf("after the fault was used up: %d", status)
	}
	if status, _, _ := call(t, s, DefaultToken, "POST", orgP+"/env-types", `{"id":"a-b"}`); status != 503 {
		t.Errorf("POST fault: %d", status)
	}
	if objs := s.Objects(DefaultOrg); len(objs) != 0 {
		t.Errorf("a request answered by a fault changed something: %q", objs)
	}

	// A reset before handling: no answer, nothing done.
	s.Inject(Fault{Method: "POST", Reset: true})
	req, _ := http.NewRequest("POST", s.URL+orgP+"/env-types", bytes.NewReader([]byte(`{"id":"a-b"}`)))
	req.Header.Set("Authorization", "Bearer "+DefaultToken)
	req.Header.Set("Content-Type", "application/json")
	_, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err == nil || !(errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)) {
		t.Errorf("reset: err = %v, want a connection reset", err)
	}
	if objs := s.Objects(DefaultOrg); len(objs) != 0 {
		t.Errorf("a reset request changed something: %q", objs)
	}

	// A reset after handling: no answer, but done.
	s.Inject(Fault{Method: "POST", ResetAfter: true})
	req, _ = http.NewRequest("POST", s.URL+orgP+"/env-types", bytes.NewReader([]byte(`{"id":"a-b"}`)))
	req.Header.Set("Authorization", "Bearer "+DefaultToken)
	req.Header.Set("Content-Type", "application/json")
	if _, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req); err == nil {
		t.Error("reset-after: got an answer")
	}
	if objs := s.Objects(DefaultOrg); !slices.Equal(objs, []string{"env-type/a-b"}) {
		t.Errorf("reset-after request: objects %q, want it done", objs)
	}

	var faults []string
	for _, c := range s.Calls() {
		faults = append(faults, c.Fault)
	}
	want := []string{"status 429", "status 429", "", "status 503", "reset", "reset-after"}
	if !slices.Equal(faults, want) {
		t.Errorf("call log faults = %q, want %q", faults, want)
	}
}

func TestLatency(t *testing.T) {
	s := New(t, WithLatency(50*time.Millisecond))
	start := time.Now()
	call(t, s, DefaultToken, "GET", "/current-user", "")
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("call took %s with 50ms latency", d)
	}
}

func TestDocumentIsStrictOnlyForRequests(t *testing.T) {
	d, err := Document()
	if err != nil {
		t.Fatal(err)
	}
	req := d.Components.Schemas["ApplicationCreationRequest"].Value
	if req.AdditionalProperties.Has == nil || *req.AdditionalProperties.Has {
		t.Error("ApplicationCreationRequest still allows unknown properties")
	}
	// Driver inputs say what extra properties may be; that stays.
	vs := d.Components.Schemas["ValuesSecretsRefsRequest"].Value.Properties["values"].Value
	if vs.AdditionalProperties.Has == nil || !*vs.AdditionalProperties.Has {
		t.Error("driver input values lost additionalProperties: true")
	}
	var v any
	if err := json.Unmarshal(openapiJSON, &v); err != nil {
		t.Fatalf("embedded document is not JSON: %v", err)
	}
}

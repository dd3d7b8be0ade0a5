package orchestrator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/pocketidp/pocketidp/internal/humanitec/humanitectest"
	"github.com/pocketidp/pocketidp/internal/secret"
)

const (
	testOrg   = "5min-local-org"
	testToken = "pidp-test-token-0123456789"
)

// served is an orchestrator behind an httptest server whose every request
// and response is validated against Humanitec's OpenAPI document: a call
// the document does not describe, or an answer it does not allow, fails
// the test. Only 501 (a route not served) may be off the document.
type served struct {
	t      *testing.T
	srv    *Server
	store  *MemoryStore
	URL    string
	router routers.Router

	mu    sync.Mutex
	calls []string
	// invalid is set while a test sends a request the document rejects on
	// purpose, to see the server's own 400.
	invalid bool
}

func serve(t *testing.T, cfg Config) *served {
	t.Helper()
	if cfg.Org == "" {
		cfg.Org = testOrg
	}
	if cfg.Token.Empty() {
		cfg.Token = secret.New(testToken)
	}
	ms, _ := cfg.Store.(*MemoryStore)
	if cfg.Store == nil {
		ms = NewMemoryStore()
		cfg.Store = ms
	}
	srv, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	sv := &served{t: t, srv: srv, store: ms}
	hs := httptest.NewServer(http.HandlerFunc(sv.validate))
	t.Cleanup(func() { hs.Close(); srv.Close() })
	sv.URL = hs.URL
	doc, err := humanitectest.Document()
	if err != nil {
		t.Fatal(err)
	}
	d := *doc
	d.Servers = openapi3.Servers{{URL: hs.URL}}
	if sv.router, err = gorillamux.NewRouter(&d); err != nil {
		t.Fatal(err)
	}
	return sv
}

// recorder keeps what the handler answered, for validation.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(s int) { r.status = s; r.ResponseWriter.WriteHeader(s) }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (sv *served) validate(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	route, params, rerr := sv.router.FindRoute(r)
	if rerr == nil {
		in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
				RejectWhenRequestBodyNotSpecified: true, MultiError: true}}
		sv.mu.Lock()
		invalid := sv.invalid
		sv.mu.Unlock()
		if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil && !invalid {
			sv.t.Errorf("the OpenAPI document rejects the request %s %s: %v", r.Method, r.URL, err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	rec := &recorder{ResponseWriter: w}
	sv.srv.ServeHTTP(rec, r)
	sv.mu.Lock()
	sv.calls = append(sv.calls, r.Method+" "+r.URL.Path)
	sv.mu.Unlock()
	// 501 (not served), the status page and the probe are not the API.
	if rec.status == http.StatusNotImplemented || r.URL.Path == "/" || r.URL.Path == "/healthz" {
		return
	}
	if rerr != nil {
		sv.t.Errorf("%s %s is not an operation of the OpenAPI document, yet answered %d", r.Method, r.URL.Path, rec.status)
		return
	}
	sv.validateResponse(r, route, params, rec.status, rec.body.Bytes())
}

func (sv *served) validateResponse(r *http.Request, route *routers.Route, params map[string]string, status int, data []byte) {
	req := r.Clone(context.Background())
	req.Body = nil
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 http.Header{"Content-Type": {"application/json"}},
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	input.SetBodyBytes(data)
	// A 204 has no body by definition of HTTP, whatever the document says.
	if status == http.StatusNoContent || len(data) == 0 {
		input.Options.ExcludeResponseBody = true
	}
	err := openapi3filter.ValidateResponse(context.Background(), input)
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) && re.Reason == "status is not supported" && status >= 400 {
		// Any operation may answer 401, 403, 404 and 5xx in the standard
		// error shape, documented or not.
		err = validateErrorBody(data)
	}
	if err != nil {
		sv.t.Errorf("the answer to %s %s (status %d) does not match the OpenAPI document: %v\nbody: %s", r.Method, r.URL.Path, status, err, data)
	}
}

func validateErrorBody(data []byte) error {
	doc, err := humanitectest.Document()
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	return doc.Components.Schemas["HumanitecErrorResponse"].Value.VisitJSON(v)
}

// call sends one request with the test token and returns the status and
// the decoded body.
func (sv *served) call(method, path string, body any) (int, any) {
	sv.t.Helper()
	return sv.callAs(testToken, method, path, body)
}

func (sv *served) callAs(token, method, path string, body any) (int, any) {
	sv.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			sv.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, sv.URL+path, rd)
	if err != nil {
		sv.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		sv.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			sv.t.Fatalf("%s %s: answer is not JSON: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, out
}

// must calls and fails the test unless the status is want.
func (sv *served) must(want int, method, path string, body any) any {
	sv.t.Helper()
	st, out := sv.call(method, path, body)
	if st != want {
		sv.t.Fatalf("%s %s = %d, want %d: %v", method, path, st, want, out)
	}
	return out
}

func orgPath(parts ...string) string { return "/orgs/" + testOrg + strings.Join(parts, "") }

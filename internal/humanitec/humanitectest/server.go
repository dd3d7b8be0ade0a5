// Package humanitectest is an in-process fake of Humanitec's classic Platform
// Orchestrator API for tests. Humanitec is hosted only, so this fake is what
// PocketIDP's Humanitec code runs against in CI.
//
// The fake keeps its objects in memory and follows the API's real semantics
// where PocketIDP depends on them: 201 or 200 as the document says per
// operation, 409 on duplicate ids and on duplicate matching criteria, 404,
// 409 when an environment type in use is deleted, asynchronous (202) app
// deletion, 401 for an unknown token and 403 for an org the token's user
// does not belong to or may not change. Deployments, which the real
// orchestrator carries out, follow a script (ScriptDeploys, SeedDeploy):
// in progress for a while, then failed with errors or succeeded with an
// active dns resource, and 409 for a deployment started while one runs.
//
// Every request is validated against Humanitec's published OpenAPI document
// (openapi.json beside this file, embedded) with kin-openapi, and so is every
// response the fake sends: a request the document rejects, or one to a path
// it does not describe, fails the test that made it. Request bodies are
// checked strictly: a property the document does not name is an error, since
// the real API would silently ignore a misspelt field.
//
// Faults are injected with Inject (429 with Retry-After, 5xx, connections
// reset before or after the request is handled) and SetLatency (a simulated
// round trip for every request).
package humanitectest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// openapiJSON is Humanitec's OpenAPI document, spec version 0.28.37, as
// mirrored in github.com/humanitec/humanitec-go-autogen (docs/openapi.json).
//
//go:embed openapi.json
var openapiJSON []byte

// Defaults of a New server: one org and an Administrator token for it.
const (
	DefaultOrg    = "fake-org"
	DefaultToken  = "hum-fake-admin-token"
	DefaultUserID = "0b4a1c8e-5f1d-4c57-9a2f-3d5e6f7a8b9c"
)

// Roles a user can have in an org, as Humanitec names them.
const (
	RoleAdministrator = "administrator"
	RoleManager       = "manager"
	RoleMember        = "member"
)

// User is who a token belongs to.
type User struct {
	ID   string
	Name string
	// Roles maps "/orgs/<org>" to the user's role there, as in
	// GET /current-user.
	Roles map[string]string
}

// Call is one request the fake received.
type Call struct {
	Method string
	Path   string // the URL path, e.g. /orgs/x/apps
	Query  string
	// Operation is the operationId in the document, or "METHOD /template"
	// for operations without one.
	Operation string
	Status    int
	// Fault says which injected fault answered the call ("" when the
	// fake's API semantics did).
	Fault string
}

// Write reports whether the call could change something.
func (c Call) Write() bool { return c.Method != http.MethodGet && c.Method != http.MethodHead }

// Fault is an injected failure. The first fault that matches a request
// answers it, until it has been used Times times.
type Fault struct {
	// Method and Path restrict the fault to requests with this method and
	// URL path (either may be empty). Match, when set, must also agree.
	Method string
	Path   string
	Match  func(*http.Request) bool
	// Status is sent with a Humanitec error body, e.g. 429 or 503.
	Status int
	// RetryAfter is sent as the Retry-After header when set.
	RetryAfter string
	// Reset closes the connection (with a TCP reset) before the request is
	// handled: the client gets no answer and nothing changed.
	Reset bool
	// ResetAfter handles the request, then resets the connection instead of
	// answering: the change happened but the client cannot know.
	ResetAfter bool
	// Times is how many requests the fault answers; 0 means once, a
	// negative number means every matching request.
	Times int
}

func (f *Fault) matches(r *http.Request) bool {
	if f.Method != "" && f.Method != r.Method {
		return false
	}
	if f.Path != "" && f.Path != r.URL.Path {
		return false
	}
	return f.Match == nil || f.Match(r)
}

func (f *Fault) name() string {
	switch {
	case f.Reset:
		return "reset"
	case f.ResetAfter:
		return "reset-after"
	default:
		return fmt.Sprintf("status %d", f.Status)
	}
}

// Server is a running fake.
type Server struct {
	// URL is the base URL to give the client instead of
	// https://api.humanitec.io.
	URL string

	t      testing.TB
	hs     *httptest.Server
	router routers.Router

	mu          sync.Mutex
	latency     time.Duration
	deleteDelay time.Duration
	faults      []*faultState
	hooks       []func(*http.Request)
	calls       []Call
	users       map[string]*User // by token
	orgs        map[string]*org
	seq         int
	timers      []*time.Timer
	closed      bool
}

type faultState struct {
	Fault
	left int // <0 forever
}

// Option configures New.
type Option func(*Server)

// WithLatency delays every request by d, a simulated round trip.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency = d } }

// WithDeleteDelay sets how long an app stays in status "deleting" after a
// DELETE answered 202 (default 20ms).
func WithDeleteDelay(d time.Duration) Option { return func(s *Server) { s.deleteDelay = d } }

// New starts a fake with DefaultOrg and DefaultToken (an Administrator of
// that org) and stops it when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	doc, err := Document()
	if err != nil {
		t.Fatalf("humanitectest: %v", err)
	}
	s := &Server{
		t:           t,
		deleteDelay: 20 * time.Millisecond,
		users:       map[string]*User{},
		orgs:        map[string]*org{},
	}
	for _, o := range opts {
		o(s)
	}
	s.AddOrg(DefaultOrg)
	s.AddUser(DefaultToken, User{ID: DefaultUserID, Name: "pocketidp test admin",
		Roles: map[string]string{"/orgs/" + DefaultOrg: RoleAdministrator}})

	s.hs = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.hs.Start()
	s.URL = s.hs.URL

	// The router matches on the server URL, so each fake routes with a copy
	// of the document that names its own address.
	d := *doc
	d.Servers = openapi3.Servers{{URL: s.URL}}
	if s.router, err = gorillamux.NewRouter(&d); err != nil {
		t.Fatalf("humanitectest: route the OpenAPI document: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Close stops the fake.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for _, tm := range s.timers {
		tm.Stop()
	}
	s.mu.Unlock()
	s.hs.CloseClientConnections()
	s.hs.Close()
}

// SetLatency changes the simulated round trip of every later request.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// AddOrg creates an org (a no-op when it exists).
func (s *Server) AddOrg(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.orgs[id] == nil {
		s.orgs[id] = newOrg(id)
	}
}

// AddUser makes token belong to u.
func (s *Server) AddUser(token string, u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[token] = &u
}

// Inject adds a fault; see Fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	left := f.Times
	if left == 0 {
		left = 1
	}
	s.faults = append(s.faults, &faultState{Fault: f, left: left})
}

// ClearFaults removes every fault not used up yet.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// OnRequest calls fn with every later request before the fake handles it
// (and before faults), outside the fake's lock, so fn may seed objects: a
// test stands for another client acting between two calls this way.
func (s *Server) OnRequest(fn func(*http.Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks = append(s.hooks, fn)
}

// Calls returns every request received so far, in order of arrival.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Writes returns the calls that could change something (any method but GET),
// including those a fault answered.
func (s *Server) Writes() []Call {
	var w []Call
	for _, c := range s.Calls() {
		if c.Write() {
			w = append(w, c)
		}
	}
	return w
}

// ResetCalls forgets the calls received so far.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

// serve is the whole request path: latency, route, hooks, faults, request
// validation, auth, the API's semantics, response validation.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	latency := s.latency
	hooks := slices.Clone(s.hooks)
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	call := Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}

	route, params, err := s.router.FindRoute(r)
	if err != nil {
		s.t.Errorf("humanitectest: %s %s is not an operation of the Humanitec OpenAPI document: %v", r.Method, r.URL.Path, err)
		call.Status = http.StatusNotFound
		s.record(call)
		writeJSON(w, http.StatusNotFound, apiError("API-404", "no such route", nil))
		return
	}
	call.Operation = operationKey(route)

	for _, h := range hooks {
		h(r)
	}

	if f := s.takeFault(r); f != nil {
		call.Fault = f.name()
		switch {
		case f.Reset:
			s.record(call)
			resetConnection(w)
			return
		case !f.ResetAfter:
			call.Status = f.Status
			s.record(call)
			if f.RetryAfter != "" {
				w.Header().Set("Retry-After", f.RetryAfter)
			}
			writeJSON(w, f.Status, apiError(fmt.Sprintf("API-%d", f.Status), "injected: "+http.StatusText(f.Status), nil))
			return
		}
	}

	status, out := s.handle(r, route, params)
	call.Status = status
	s.record(call)
	s.validateResponse(r, route, params, status, out)
	if call.Fault == "reset-after" {
		resetConnection(w)
		return
	}
	if status == http.StatusNoContent || status == http.StatusAccepted && out == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, out)
}

// handle validates the request and runs the operation.
func (s *Server) handle(r *http.Request, route *routers.Route, params map[string]string) (int, any) {
	in := &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc:                openapi3filter.NoopAuthenticationFunc,
			RejectWhenRequestBodyNotSpecified: true,
			MultiError:                        true,
		},
	}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		s.t.Errorf("humanitectest: the OpenAPI document rejects %s %s: %v", r.Method, r.URL.String(), err)
		return http.StatusBadRequest, apiError("API-400", "request does not match the API: "+err.Error(), nil)
	}
	var body []byte
	if r.Body != nil {
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(r.Body)
		body = buf.Bytes()
	}

	s.mu.Lock()
	user := s.users[bearer(r)]
	s.mu.Unlock()
	if user == nil {
		return http.StatusUnauthorized, apiError("API-401", "Could not validate token.", nil)
	}

	op := s.operations()[operationKey(route)]
	if op == nil {
		s.t.Errorf("humanitectest: the fake does not implement %s (%s %s)", operationKey(route), r.Method, r.URL.Path)
		return http.StatusNotImplemented, apiError("API-501", "not implemented by the fake", nil)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rq := &request{s: s, r: r, user: user, params: params, body: body}
	if orgID, ok := params["orgId"]; ok {
		o := s.orgs[orgID]
		role := user.Roles["/orgs/"+orgID]
		if o == nil || role == "" {
			return http.StatusForbidden, apiError("API-403", fmt.Sprintf("User %s has no access to organization %s.", user.ID, orgID), nil)
		}
		if rq.write() && role != RoleAdministrator {
			return http.StatusForbidden, apiError("API-403", fmt.Sprintf("User %s (role %s) may not change organization %s.", user.ID, role, orgID), nil)
		}
		rq.org = o
	}
	return op(rq)
}

// validateResponse checks what the fake is about to send against the
// document: a documented status must have a documented body, a 2xx status
// must be documented, and an undocumented error must be a Humanitec error.
func (s *Server) validateResponse(r *http.Request, route *routers.Route, params map[string]string, status int, out any) {
	var data []byte
	if out != nil {
		var err error
		if data, err = json.Marshal(out); err != nil {
			s.t.Errorf("humanitectest: encode response: %v", err)
			return
		}
	}
	req := r.Clone(context.Background())
	req.Body = nil
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 http.Header{"Content-Type": {"application/json"}},
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	input.SetBodyBytes(data)
	// A 204 has no body by definition of HTTP; the document gives one to
	// DELETE /env-types/{id}, which no server could send.
	if status == http.StatusNoContent || out == nil {
		input.Options.ExcludeResponseBody = true
	}
	err := openapi3filter.ValidateResponse(context.Background(), input)
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) && re.Reason == "status is not supported" && status >= 400 {
		// Humanitec answers any operation with 401, 403, 404 and 5xx in its
		// standard error shape, documented or not.
		err = validateErrorBody(out)
	}
	if err != nil {
		s.t.Errorf("humanitectest: the fake's answer to %s %s (status %d) does not match the OpenAPI document: %v", r.Method, r.URL.Path, status, err)
	}
}

func validateErrorBody(out any) error {
	doc, err := Document()
	if err != nil {
		return err
	}
	ref := doc.Components.Schemas["HumanitecErrorResponse"]
	var v any
	b, _ := json.Marshal(out)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	return ref.Value.VisitJSON(v)
}

func (s *Server) takeFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if !f.matches(r) {
			continue
		}
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		ff := f.Fault
		return &ff
	}
	return nil
}

// resetConnection ends the exchange without an answer: the client sees a
// connection reset (SO_LINGER 0 makes close send RST, not FIN).
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("humanitectest: response writer cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

func operationKey(route *routers.Route) string {
	if route.Operation != nil && route.Operation.OperationID != "" {
		return route.Operation.OperationID
	}
	return route.Method + " " + route.Path
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// errorBody is HumanitecErrorResponse.
type errorBody struct {
	Error   string         `json:"error"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

func apiError(code, msg string, details map[string]any) errorBody {
	return errorBody{Error: code, Message: msg, Details: details}
}

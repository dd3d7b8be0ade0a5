package orchestrator

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pocketidp/pocketidp/internal/secret"
)

// UserID is the one user the orchestrator knows: whoever holds the token.
const UserID = "pocketidp-local-admin"

// UserName is how that user is shown.
const UserName = "PocketIDP local orchestrator admin"

// maxBody bounds a request body; the biggest the course sends (a template
// definition) is a few kilobytes.
const maxBody = 4 << 20

// Config is what New needs.
type Config struct {
	// Org is the one organization served.
	Org string
	// Token is the one bearer token accepted; any other answers 401.
	Token secret.Value
	// Store keeps the state; nil means a new MemoryStore.
	Store Store
	// Deployer carries deployments out; nil means they succeed at once
	// without provisioning anything (an API-only server).
	Deployer Deployer
	// Logger gets a line per request and one per route not served; nil
	// discards them.
	Logger *slog.Logger
	// Now is the clock (tests fix it); nil means time.Now.
	Now func() time.Time
	// IngressPort is the host port app URLs on the status page use
	// (default 8443).
	IngressPort int
}

// Server serves the API. It is an http.Handler.
type Server struct {
	cfg Config
	mux *http.ServeMux
	log *slog.Logger

	mu    sync.Mutex
	st    *state
	saved map[string][]byte

	// running tracks deployments being carried out, for Close.
	running sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc
}

// New loads the state from cfg.Store and returns a server for it.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Org == "" {
		return nil, errors.New("the local orchestrator needs an org id (set --org)")
	}
	if cfg.Token.Empty() {
		return nil, errors.New("the local orchestrator needs a token (give --token-file)")
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	st := newState()
	saved, err := st.load(ctx, cfg.Store)
	if err != nil {
		return nil, err
	}
	if st.Meta == nil {
		st.Meta = &Meta{Org: cfg.Org, CreatedAt: stamp(cfg.Now())}
	} else if st.Meta.Org != cfg.Org {
		return nil, fmt.Errorf("the stored state belongs to org %q, not %q: start with --org %s, or point the orchestrator at another state namespace", st.Meta.Org, cfg.Org, st.Meta.Org)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, st: st, saved: saved, mux: http.NewServeMux()}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.routes()
	// Deployments cut off by a restart never finish: say so.
	s.mu.Lock()
	s.failInterrupted()
	err = s.persist(ctx)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Close stops the deployments still running and waits for them.
func (s *Server) Close() {
	s.cancel()
	s.running.Wait()
}

// Wait waits for the deployments started so far to finish.
func (s *Server) Wait() { s.running.Wait() }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// operation handles one route; it runs under s.mu with the request's body
// read, and returns the status and the value to send as JSON (nil for none).
type operation func(*request) (int, any)

// request is one call being handled.
type request struct {
	s    *Server
	r    *http.Request
	body []byte
	st   *state
	// after runs once the state is saved and the lock released (a
	// deployment starts this way).
	after func()
	// later, when set, gives the answer instead, computed after the lock
	// is released (what asks the cluster must not hold the state).
	later func(ctx context.Context) (int, any)
}

func (rq *request) param(name string) string { return rq.r.PathValue(name) }

func (rq *request) query(name string) string { return rq.r.URL.Query().Get(name) }

func (rq *request) decode(v any) error {
	if len(rq.body) == 0 {
		return errors.New("the request has no body; send the object as JSON")
	}
	if err := json.Unmarshal(rq.body, v); err != nil {
		return fmt.Errorf("the body is not the JSON this operation takes: %v", err)
	}
	return nil
}

func (rq *request) now() string { return stamp(rq.s.cfg.Now()) }

// handle registers op for a method and path pattern. orgScoped routes
// check that {orgId} is the org served.
func (s *Server) handle(pattern string, op operation) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := s.cfg.Now()
		status := s.serve(w, r, op)
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", status, "took", time.Since(start))
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, op operation) int {
	if !s.authorized(r) {
		return writeJSON(w, http.StatusUnauthorized, apiError(http.StatusUnauthorized, "Could not validate token: the local orchestrator accepts only the token PocketIDP made (see `pocketidp env`)."))
	}
	if org := r.PathValue("orgId"); org != "" && org != s.cfg.Org {
		return writeJSON(w, http.StatusForbidden, apiError(http.StatusForbidden, fmt.Sprintf("User %s has no access to organization %s: the local orchestrator serves only %s.", UserID, org, s.cfg.Org)))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return writeJSON(w, http.StatusBadRequest, apiError(http.StatusBadRequest, "read the request body: "+err.Error()))
	}
	s.mu.Lock()
	rq := &request{s: s, r: r, body: body, st: s.st}
	status, out := op(rq)
	if status < 400 && r.Method != http.MethodGet {
		if err := s.persist(r.Context()); err != nil {
			s.log.Error("state not saved", "method", r.Method, "path", r.URL.Path, "err", err)
			status, out = http.StatusInternalServerError, apiError(http.StatusInternalServerError, "the change was made but could not be saved: "+err.Error())
		}
	}
	s.mu.Unlock()
	if rq.after != nil {
		rq.after()
	}
	if rq.later != nil && status < 400 {
		status, out = rq.later(r.Context())
	}
	if out == nil {
		w.WriteHeader(status)
		return status
	}
	return writeJSON(w, status, out)
}

// persist saves the collections changed since the last save. Under s.mu.
func (s *Server) persist(ctx context.Context) error {
	dirty, err := s.st.dirty(s.saved)
	if err != nil {
		return err
	}
	for name, b := range dirty {
		if err := s.cfg.Store.Save(ctx, name, b); err != nil {
			return fmt.Errorf("save the orchestrator's %s: %w", name, err)
		}
		s.saved[name] = b
	}
	return nil
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return false
	}
	want := s.cfg.Token.Reveal()
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(want)) == 1
}

// notServed answers every route the orchestrator does not serve.
func (s *Server) notServed(w http.ResponseWriter, r *http.Request) {
	s.log.Warn("route not served by the local orchestrator", "method", r.Method, "path", r.URL.Path)
	writeJSON(w, http.StatusNotImplemented, apiError(http.StatusNotImplemented,
		fmt.Sprintf("%s %s is not served by PocketIDP's local orchestrator, which serves only the part of Humanitec's API that the course uses.", r.Method, r.URL.Path)))
}

func writeJSON(w http.ResponseWriter, status int, v any) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
	return status
}

// errorBody is the API's HumanitecErrorResponse.
type errorBody struct {
	Error   string         `json:"error"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

func apiError(status int, msg string) errorBody {
	return errorBody{Error: fmt.Sprintf("API-%d", status), Message: msg}
}

func notFound(what string) (int, any) {
	return http.StatusNotFound, apiError(http.StatusNotFound, what+" not found.")
}

func conflict(msg string) (int, any) { return http.StatusConflict, apiError(http.StatusConflict, msg) }

func badRequest(msg string) (int, any) {
	return http.StatusBadRequest, apiError(http.StatusBadRequest, msg)
}

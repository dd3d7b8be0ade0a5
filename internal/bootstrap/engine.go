// Package bootstrap holds the step engine: a plan of named steps with
// dependencies, run with bounded concurrency, each step reporting events to
// one stream, and undone in reverse for `down`.
package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/pocketidp/pocketidp/internal/state"
)

// Plan is a set of steps with their dependencies, checked to be a DAG.
type Plan struct {
	steps  []Step
	byName map[string]int
}

// NewPlan checks that names are unique, every need exists and there is no
// cycle.
func NewPlan(steps ...Step) (*Plan, error) {
	p := &Plan{steps: steps, byName: make(map[string]int, len(steps))}
	for i, s := range steps {
		name := s.Action.Name()
		if name == "" {
			return nil, fmt.Errorf("plan: step %d has no name", i)
		}
		if _, dup := p.byName[name]; dup {
			return nil, fmt.Errorf("plan: step %q appears twice", name)
		}
		p.byName[name] = i
	}
	for _, s := range steps {
		for _, n := range slices.Concat(s.Needs, s.UndoAfter) {
			if _, ok := p.byName[n]; !ok {
				return nil, fmt.Errorf("plan: step %q needs unknown step %q", s.Action.Name(), n)
			}
		}
	}
	if _, err := p.order(); err != nil {
		return nil, err
	}
	if err := acyclic(p.undoNeeds()); err != nil {
		return nil, fmt.Errorf("plan, undone: %w", err)
	}
	return p, nil
}

// undoNeeds is, for each step, what must be undone before it: the steps
// that need it, and its UndoAfter.
func (p *Plan) undoNeeds() map[string][]string {
	needs := make(map[string][]string, len(p.steps))
	for _, s := range p.steps {
		for _, n := range s.Needs {
			needs[n] = append(needs[n], s.Action.Name())
		}
		needs[s.Action.Name()] = append(needs[s.Action.Name()], s.UndoAfter...)
	}
	return needs
}

// acyclic reports a cycle in a graph of names: a schedule over it would
// leave the steps on the cycle waiting for ever.
func acyclic(needs map[string][]string) error {
	const visiting, visited = 1, 2
	mark := map[string]int{}
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch mark[name] {
		case visited:
			return nil
		case visiting:
			return fmt.Errorf("dependency cycle %v", append(path, name))
		}
		mark[name] = visiting
		for _, n := range needs[name] {
			if err := visit(n, append(path, name)); err != nil {
				return err
			}
		}
		mark[name] = visited
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(needs)) {
		if err := visit(name, nil); err != nil {
			return err
		}
	}
	return nil
}

// Steps returns the steps in a dependency order (each after what it needs),
// keeping the order they were given in where dependencies allow.
func (p *Plan) Steps() []Step {
	order, _ := p.order()
	out := make([]Step, len(order))
	for i, idx := range order {
		out[i] = p.steps[idx]
	}
	return out
}

func (p *Plan) order() ([]int, error) {
	const (
		unseen = iota
		visiting
		visited
	)
	mark := make([]int, len(p.steps))
	var out []int
	var visit func(i int, path []string) error
	visit = func(i int, path []string) error {
		switch mark[i] {
		case visited:
			return nil
		case visiting:
			return fmt.Errorf("plan: dependency cycle %v", append(path, p.steps[i].Action.Name()))
		}
		mark[i] = visiting
		for _, n := range p.steps[i].Needs {
			if err := visit(p.byName[n], append(path, p.steps[i].Action.Name())); err != nil {
				return err
			}
		}
		mark[i] = visited
		out = append(out, i)
		return nil
	}
	for i := range p.steps {
		if err := visit(i, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// StatusStore keeps per-step outcomes across runs; *state.Store is one.
type StatusStore interface {
	StepDone(name string) bool
	SetStep(name, status, errMsg string) error
}

// Step outcomes recorded in the StatusStore.
const (
	statusDone        = state.StepDone
	statusFailed      = state.StepFailed
	statusInterrupted = state.StepInterrupted
	statusUndone      = state.StepUndone
)

// Runner runs plans. Configure it, then call Run or Undo (the Helm action
// pattern).
type Runner struct {
	// Sink receives every event; nil drops them.
	Sink Sink
	// Status records outcomes so a later run can resume; nil keeps none.
	Status StatusStore
	// Concurrency bounds the steps running at once; zero means 4.
	Concurrency int
	// Redact masks secrets in every event message.
	Redact func(string) string
	// Log receives a debug line for every event; nil discards them.
	Log *slog.Logger

	mu      sync.Mutex
	outputs map[string]any // of the last run, for Output.Of
}

// StepError names the step that failed.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return fmt.Sprintf("step %s: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// Fixer is implemented by errors that know what the user should do.
type Fixer interface{ Fix() string }

// fixError is a failure (not bad input) whose remedy is known: the engine
// shows Fix with it.
type fixError struct {
	err error
	fix string
}

func (e fixError) Error() string { return e.err.Error() }
func (e fixError) Unwrap() error { return e.err }
func (e fixError) Fix() string   { return e.fix }

// Run runs the plan forward. Steps whose result exists are skipped. A failed
// step stops its dependents and no new step starts, but steps already running
// finish. The error names every failed step; when ctx is cancelled it wraps
// ctx.Err().
func (r *Runner) Run(ctx context.Context, p *Plan) error {
	return r.schedule(ctx, p, p.forwardNeeds(), r.forward)
}

// forwardNeeds maps each step to the steps it needs.
func (p *Plan) forwardNeeds() map[string][]string {
	needs := make(map[string][]string, len(p.steps))
	for _, s := range p.steps {
		needs[s.Action.Name()] = s.Needs
	}
	return needs
}

// Undo takes the plan back: each step's Undo runs after the Undo of every
// step that needs it and of its UndoAfter. Steps without Undo are passed
// over.
func (r *Runner) Undo(ctx context.Context, p *Plan) error {
	return r.schedule(ctx, p, p.undoNeeds(), r.backward)
}

type run struct {
	r     *Runner
	needs map[string][]string // of the plan forward, for Output.Get
	mu    sync.Mutex

	outMu   sync.Mutex
	outputs map[string]any // step name → its Output's value
}

func (rn *run) emit(e Event) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if rn.r.Redact != nil {
		e.Message = rn.r.Redact(e.Message)
		e.Fix = rn.r.Redact(e.Fix)
	}
	if rn.r.Log != nil {
		rn.r.Log.Debug(e.Message, "step", e.Step, "event", string(e.Kind), "elapsed", e.Elapsed)
	}
	if rn.r.Sink != nil {
		rn.r.Sink.Emit(e)
	}
}

func (rn *run) record(name, status string, err error) {
	if rn.r.Status == nil {
		return
	}
	msg := ""
	if err != nil {
		msg = err.Error()
		if rn.r.Redact != nil {
			msg = rn.r.Redact(msg)
		}
	}
	if serr := rn.r.Status.SetStep(name, status, msg); serr != nil && rn.r.Log != nil {
		rn.r.Log.Error("record step status", "step", name, "err", serr)
	}
}

type stepFunc func(ctx context.Context, rn *run, s Step) error

func (r *Runner) schedule(ctx context.Context, p *Plan, needs map[string][]string, do stepFunc) error {
	limit := r.Concurrency
	if limit <= 0 {
		limit = 4
	}
	rn := &run{r: r, needs: p.forwardNeeds(), outputs: map[string]any{}}
	defer func() {
		r.mu.Lock()
		r.outputs = rn.outputs
		r.mu.Unlock()
	}()
	type result struct {
		name string
		err  error
	}
	var (
		order    = p.Steps()
		finished = map[string]bool{}
		started  = map[string]bool{}
		results  = make(chan result)
		running  int
		failures []error
		stopping bool
	)
	ready := func(name string) bool {
		for _, n := range needs[name] {
			if !finished[n] {
				return false
			}
		}
		return true
	}
	for {
		if ctx.Err() != nil {
			stopping = true
		}
		if !stopping {
			for _, s := range order {
				name := s.Action.Name()
				if running >= limit {
					break
				}
				if started[name] || !ready(name) {
					continue
				}
				started[name] = true
				running++
				go func(s Step) {
					results <- result{name: s.Action.Name(), err: do(ctx, rn, s)}
				}(s)
			}
		}
		if running == 0 {
			break
		}
		res := <-results
		running--
		if res.err != nil {
			failures = append(failures, &StepError{Step: res.name, Err: res.err})
			stopping = true
			continue
		}
		finished[res.name] = true
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", errors.Join(append([]error{err}, failures...)...))
	}
	return errors.Join(failures...)
}

func (r *Runner) forward(ctx context.Context, rn *run, s Step) error {
	name := s.Action.Name()
	return rn.exec(ctx, s, func(sctx context.Context, sc *StepContext) (skipped bool, err error) {
		if ch, ok := s.Action.(Checker); ok {
			done, err := ch.Done(sctx, sc)
			if err != nil {
				return false, fmt.Errorf("check whether %s is done: %w", name, err)
			}
			if done {
				return true, nil
			}
		}
		rn.emit(Event{Step: name, Kind: Started})
		return false, s.Action.Run(sctx, sc)
	}, statusDone)
}

func (r *Runner) backward(ctx context.Context, rn *run, s Step) error {
	u, ok := s.Action.(Undoer)
	if !ok {
		return nil // nothing to take back
	}
	return rn.exec(ctx, s, func(sctx context.Context, sc *StepContext) (bool, error) {
		rn.emit(Event{Step: s.Action.Name(), Kind: Started, Message: "removing"})
		return false, u.Undo(sctx, sc)
	}, statusUndone)
}

// exec runs body under the step's deadline and turns its outcome into events
// and a recorded status. A panic in a step fails that step, not the run.
func (rn *run) exec(ctx context.Context, s Step, body func(context.Context, *StepContext) (bool, error), okStatus string) (err error) {
	name := s.Action.Name()
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultStepTimeout
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sc := &StepContext{name: name, run: rn}
	sc.logger = slog.New(&eventHandler{rn: rn, step: name})
	start := time.Now()

	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
		elapsed := time.Since(start)
		switch {
		case err == nil:
			return
		case ctx.Err() != nil:
			rn.record(name, statusInterrupted, err)
			rn.emit(Event{Step: name, Kind: Failed, Message: "interrupted: " + err.Error(), Elapsed: elapsed})
		default:
			if errors.Is(sctx.Err(), context.DeadlineExceeded) {
				err = fmt.Errorf("gave up after %s: %w", timeout, err)
			}
			rn.record(name, statusFailed, err)
			ev := Event{Step: name, Kind: Failed, Message: err.Error(), Elapsed: elapsed}
			var f Fixer
			if errors.As(err, &f) {
				ev.Fix = f.Fix()
			}
			rn.emit(ev)
		}
	}()

	skipped, err := body(sctx, sc)
	if err != nil {
		return err
	}
	rn.record(name, okStatus, nil)
	kind := Done
	if skipped {
		kind = Skipped
	}
	rn.emit(Event{Step: name, Kind: kind, Elapsed: time.Since(start)})
	return nil
}

// eventHandler turns a step's slog records into log events.
type eventHandler struct {
	rn    *run
	step  string
	attrs []slog.Attr
	group string
}

func (h *eventHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= slog.LevelDebug
}

func (h *eventHandler) Handle(_ context.Context, rec slog.Record) error {
	msg := rec.Message
	attrs := slices.Clone(h.attrs)
	rec.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	for _, a := range attrs {
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		msg += fmt.Sprintf(" %s=%v", key, a.Value.Resolve())
	}
	h.rn.emit(Event{Time: rec.Time, Step: h.step, Kind: Log, Level: rec.Level.String(), Message: msg})
	return nil
}

func (h *eventHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(slices.Clone(h.attrs), attrs...)
	return &c
}

func (h *eventHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}

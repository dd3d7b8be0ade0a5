package bootstrap

import (
	"sync"
	"time"

	"github.com/pocketidp/pocketidp/internal/state"
)

// Kind is what happened to a step.
type Kind string

// The event kinds, in the order a step usually produces them.
const (
	Started  Kind = "started"
	Progress Kind = "progress"
	Log      Kind = "log"
	Done     Kind = state.StepDone
	Skipped  Kind = "skipped"
	Failed   Kind = state.StepFailed
)

// Event is one thing a step reported. Every renderer (plain text, JSON lines,
// the TUI) draws from the same events, so they cannot disagree.
type Event struct {
	Time    time.Time `json:"time"`
	Step    string    `json:"step"`
	Kind    Kind      `json:"status"`
	Message string    `json:"message,omitempty"`
	// Current and Total are set on progress events when the step knows its
	// fraction (k of n objects, bytes of a chart).
	Current int `json:"current,omitempty"`
	Total   int `json:"total,omitempty"`
	// Level is the slog level of a log event.
	Level string `json:"level,omitempty"`
	// Elapsed is set on done, skipped and failed events.
	Elapsed time.Duration `json:"elapsed_ns,omitempty"`
	// Fix tells the user what to do about a failure, when the step knows.
	Fix string `json:"fix,omitempty"`
}

// Sink receives events. The engine never calls Emit concurrently.
type Sink interface {
	Emit(Event)
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(Event)

// Emit calls f.
func (f SinkFunc) Emit(e Event) { f(e) }

// Tee sends every event to each sink in turn.
func Tee(sinks ...Sink) Sink {
	return SinkFunc(func(e Event) {
		for _, s := range sinks {
			if s != nil {
				s.Emit(e)
			}
		}
	})
}

// Recorder keeps every event; tests and the summary read it back.
type Recorder struct {
	mu     sync.Mutex
	events []Event
}

// Emit records e.
func (r *Recorder) Emit(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// Events returns a copy of what was recorded.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

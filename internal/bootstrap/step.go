package bootstrap

import (
	"context"
	"log/slog"
	"time"
)

// Action is the work of one step, in the manner of kind's create actions: a
// small type per step, handed a context with what it needs to report.
type Action interface {
	Name() string
	Run(ctx context.Context, sc *StepContext) error
}

// Checker is implemented by actions that can tell whether their result
// already exists. The engine skips the step when Done says so; the check
// looks at the real thing (the cluster, the API), not at the state file.
type Checker interface {
	Done(ctx context.Context, sc *StepContext) (bool, error)
}

// Undoer is implemented by actions that can take their result back for
// `down`. Undo must treat "already gone" as success.
type Undoer interface {
	Undo(ctx context.Context, sc *StepContext) error
}

// Step places an action in a plan.
type Step struct {
	Action Action
	// Needs names the steps that must finish before this one starts.
	Needs []string
	// UndoAfter names steps whose Undo must finish before this one's
	// Undo starts, on top of the reverse of Needs: what a removal still
	// goes through (the Humanitec agent, while Humanitec deletes apps
	// through it) stays until that removal is done.
	UndoAfter []string
	// Timeout bounds the step; zero means DefaultStepTimeout.
	Timeout time.Duration
}

// DefaultStepTimeout bounds a step that did not choose its own deadline.
const DefaultStepTimeout = 10 * time.Minute

// StepContext is what a running step reports through.
type StepContext struct {
	name   string
	run    *run
	logger *slog.Logger
}

// Name is the step's name.
func (sc *StepContext) Name() string { return sc.name }

// Logger returns a logger whose records become log events of this step (and
// lines of the debug log). Pass it to the packages a step calls.
func (sc *StepContext) Logger() *slog.Logger { return sc.logger }

// Progress reports the step's current sub-action, and its fraction when
// total > 0.
func (sc *StepContext) Progress(current, total int, msg string) {
	sc.run.emit(Event{Step: sc.name, Kind: Progress, Current: current, Total: total, Message: msg})
}

// PreviouslyDone reports whether an earlier run recorded this step as done.
func (sc *StepContext) PreviouslyDone() bool {
	return sc.run.r.Status != nil && sc.run.r.Status.StepDone(sc.name)
}

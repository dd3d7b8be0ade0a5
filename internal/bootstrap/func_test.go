package bootstrap

import "context"

// Func is an Action made of functions, for the tests' own steps. Without
// DoneFunc the step counts as done when an earlier run finished it; without
// UndoFunc its Undo does nothing (and is reported as a removal).
type Func struct {
	StepName string
	RunFunc  func(ctx context.Context, sc *StepContext) error
	DoneFunc func(ctx context.Context, sc *StepContext) (bool, error)
	UndoFunc func(ctx context.Context, sc *StepContext) error
}

// Name is the step name.
func (f Func) Name() string { return f.StepName }

// Run calls RunFunc.
func (f Func) Run(ctx context.Context, sc *StepContext) error {
	if f.RunFunc == nil {
		return nil
	}
	return f.RunFunc(ctx, sc)
}

// Done calls DoneFunc, or asks the state whether an earlier run finished.
func (f Func) Done(ctx context.Context, sc *StepContext) (bool, error) {
	if f.DoneFunc == nil {
		return sc.PreviouslyDone(), nil
	}
	return f.DoneFunc(ctx, sc)
}

// Undo calls UndoFunc.
func (f Func) Undo(ctx context.Context, sc *StepContext) error {
	if f.UndoFunc == nil {
		return nil
	}
	return f.UndoFunc(ctx, sc)
}

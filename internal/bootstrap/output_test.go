package bootstrap

import (
	"context"
	"strings"
	"testing"
)

// TestOutput: a step's output reaches the steps that need it, only its own
// step sets it, a step that does not need it cannot read it, and a skipped
// step hands on the zero value.
func TestOutput(t *testing.T) {
	out := Output[string]{Step: "maker"}
	var got, stranger string
	var setErr, readErr error
	maker := func(done bool) Step {
		return Step{Action: Func{StepName: "maker",
			RunFunc:  func(_ context.Context, sc *StepContext) error { return out.Set(sc, "value") },
			DoneFunc: func(context.Context, *StepContext) (bool, error) { return done, nil }}}
	}
	reader := Step{Action: Func{StepName: "reader", RunFunc: func(_ context.Context, sc *StepContext) error {
		var err error
		got, err = out.Get(sc)
		return err
	}, DoneFunc: func(context.Context, *StepContext) (bool, error) { return false, nil }}, Needs: []string{"middle"}}
	middle := Step{Action: Func{StepName: "middle", DoneFunc: func(context.Context, *StepContext) (bool, error) { return false, nil }}, Needs: []string{"maker"}}
	other := Step{Action: Func{StepName: "other", RunFunc: func(_ context.Context, sc *StepContext) error {
		stranger, readErr = out.Get(sc)
		setErr = out.Set(sc, "forged")
		return nil
	}, DoneFunc: func(context.Context, *StepContext) (bool, error) { return false, nil }}}

	r := &Runner{}
	if err := r.Run(context.Background(), mustPlan(t, maker(false), middle, reader, other)); err != nil {
		t.Fatal(err)
	}
	if got != "value" {
		t.Errorf("reader got %q through a step between, want value", got)
	}
	if v, ok := out.Of(r); !ok || v != "value" {
		t.Errorf("Of = %q, %t", v, ok)
	}
	if readErr == nil || !strings.Contains(readErr.Error(), "does not need") || stranger != "" {
		t.Errorf("a step that does not need maker read %q, %v", stranger, readErr)
	}
	if setErr == nil || !strings.Contains(setErr.Error(), "cannot set the output of step maker") {
		t.Errorf("another step set maker's output: %v", setErr)
	}

	got = "stale"
	if err := (&Runner{}).Run(context.Background(), mustPlan(t, maker(true), middle, reader)); err != nil {
		t.Fatal(err)
	}
	if got != "" {
		t.Errorf("after a skipped maker the reader got %q, want the zero value", got)
	}
}

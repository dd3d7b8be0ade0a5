package bootstrap

import (
	"fmt"
	"slices"
)

// Output is the typed result of one step, which the steps that need it
// (directly or through others) receive, as kind's actions receive nothing
// from each other through their shared context: what a step hands on is
// declared here, with its type, instead of being left in Install.
//
// A step that was skipped because its result exists hands on nothing: Get
// returns the zero value, and the reader must cope (the runner token is
// not needed once a runner is registered).
type Output[T any] struct {
	// Step is the only step that may Set it.
	Step string
}

// Set records v as this run's result of the step sc runs.
func (o Output[T]) Set(sc *StepContext, v T) error {
	if sc.name != o.Step {
		return fmt.Errorf("step %s cannot set the output of step %s", sc.name, o.Step)
	}
	sc.run.outMu.Lock()
	defer sc.run.outMu.Unlock()
	sc.run.outputs[o.Step] = v
	return nil
}

// Get returns the output to the step sc runs, which must need o.Step
// (otherwise nothing orders the write before the read: an error).
func (o Output[T]) Get(sc *StepContext) (T, error) {
	var zero T
	if !sc.run.dependsOn(sc.name, o.Step) {
		return zero, fmt.Errorf("step %s reads the output of step %s, which it does not need (add the edge in plan.go)", sc.name, o.Step)
	}
	sc.run.outMu.Lock()
	defer sc.run.outMu.Unlock()
	v, ok := sc.run.outputs[o.Step].(T)
	if !ok {
		return zero, nil
	}
	return v, nil
}

// Of returns the output the runner's last run recorded, for the caller of
// Run (a summary, a test).
func (o Output[T]) Of(r *Runner) (T, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.outputs[o.Step].(T)
	return v, ok
}

// dependsOn reports whether step needs dep, directly or through others.
func (rn *run) dependsOn(step, dep string) bool {
	seen := map[string]bool{}
	todo := slices.Clone(rn.needs[step])
	for len(todo) > 0 {
		n := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if n == dep {
			return true
		}
		if !seen[n] {
			seen[n] = true
			todo = append(todo, rn.needs[n]...)
		}
	}
	return false
}

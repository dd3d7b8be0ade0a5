package bootstrap

import (
	"strings"
	"testing"

	"github.com/pocketidp/pocketidp/internal/config"
)

// subPlan is a plan of part of the steps, wired by the table of edges as
// UpPlan wires the whole: needs of steps outside the part are dropped
// (only here: UpPlan refuses a missing required need). Steps the table does
// not know (the engine tests' own) keep the needs they were given.
func subPlan(t testing.TB, steps ...Step) *Plan {
	t.Helper()
	p, err := NewPlan(wireSubset(steps)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func wireSubset(steps []Step) []Step {
	out, err := connect(steps, true)
	if err != nil {
		panic(err) // partial wiring refuses nothing
	}
	return out
}

// TestWire: the table gives every step of a real plan its needs, drops
// only optional needs of absent steps, and refuses a step it does not know
// or a required need that is absent.
func TestWire(t *testing.T) {
	named := func(names ...string) []Step {
		var s []Step
		for _, n := range names {
			s = append(s, Step{Action: Func{StepName: n}})
		}
		return s
	}
	got, err := wire(named(StepState, StepCluster, StepTLS))
	if err != nil {
		t.Fatal(err)
	}
	if n := got[1].Needs; len(n) != 1 || n[0] != StepState {
		t.Errorf("cluster without the Humanitec check needs %v, want [state]", n)
	}
	for _, tc := range []struct {
		steps []Step
		want  string
	}{
		{named(StepState, "mystery"), "step mystery is not in the table"},
		{named(StepState, StepTLS), "step tls needs cluster, which is not in the plan"},
	} {
		if _, err := wire(tc.steps); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("wire = %v, want %q", err, tc.want)
		}
	}
	// Every step of the real plans, with and without the optional parts.
	for _, o := range []func(*config.Options){
		func(o *config.Options) { o.SkipHumanitec = true },
		func(o *config.Options) { o.Wait, o.Trust = true, true },
		func(o *config.Options) {},
	} {
		opts := config.Defaults()
		o(&opts)
		in := &Install{Options: opts}
		if _, err := UpPlan(in); err != nil {
			t.Errorf("UpPlan: %v", err)
		}
		if in.Humanitec.Cluster != nil {
			t.Error("UpPlan changed its input")
		}
	}
}

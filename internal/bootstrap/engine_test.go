package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// memStatus is an in-memory StatusStore.
type memStatus struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *memStatus) StepDone(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[name] == statusDone
}

func (s *memStatus) SetStep(name, status, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[name] = status
	return nil
}

// trace records the order of starts and ends across goroutines.
type trace struct {
	mu    sync.Mutex
	lines []string
}

func (t *trace) add(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, s)
}

func (t *trace) index(s string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, l := range t.lines {
		if l == s {
			return i
		}
	}
	return -1
}

func step(name string, tr *trace, needs ...string) Step {
	return Step{Action: Func{StepName: name, RunFunc: func(context.Context, *StepContext) error {
		tr.add("start " + name)
		tr.add("end " + name)
		return nil
	}}, Needs: needs}
}

func mustPlan(t *testing.T, steps ...Step) *Plan {
	t.Helper()
	p, err := NewPlan(steps...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunRespectsDependencies(t *testing.T) {
	tr := &trace{}
	// Declared in an order that contradicts the dependencies on purpose.
	p := mustPlan(t,
		step("seed", tr, "gitea", "cluster"),
		step("gitea", tr, "cluster"),
		step("cluster", tr, "doctor"),
		step("doctor", tr),
	)
	if err := (&Runner{Concurrency: 8}).Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	for _, dep := range [][2]string{{"doctor", "cluster"}, {"cluster", "gitea"}, {"gitea", "seed"}, {"cluster", "seed"}} {
		if tr.index("end "+dep[0]) > tr.index("start "+dep[1]) {
			t.Errorf("%s started before %s ended: %v", dep[1], dep[0], tr.lines)
		}
	}
}

func TestIndependentStepsRunConcurrently(t *testing.T) {
	// Each step waits until the other has started: this only finishes if
	// both run at the same time.
	var wg sync.WaitGroup
	wg.Add(2)
	meet := func(name string) Step {
		return Step{Action: Func{StepName: name, RunFunc: func(ctx context.Context, _ *StepContext) error {
			wg.Done()
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
				return nil
			case <-ctx.Done():
				return errors.New("the other step never started")
			}
		}}, Timeout: 5 * time.Second}
	}
	p := mustPlan(t, meet("a"), meet("b"))
	if err := (&Runner{Concurrency: 2}).Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	var mu sync.Mutex
	now, peak := 0, 0
	var steps []Step
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		steps = append(steps, Step{Action: Func{StepName: n, RunFunc: func(context.Context, *StepContext) error {
			mu.Lock()
			now++
			peak = max(peak, now)
			mu.Unlock()
			time.Sleep(10 * time.Millisecond)
			mu.Lock()
			now--
			mu.Unlock()
			return nil
		}}})
	}
	if err := (&Runner{Concurrency: 2}).Run(context.Background(), mustPlan(t, steps...)); err != nil {
		t.Fatal(err)
	}
	if peak != 2 {
		t.Fatalf("peak concurrency %d, want 2", peak)
	}
}

func TestFailureStopsDependentsAndLetsSiblingsFinish(t *testing.T) {
	tr := &trace{}
	boom := errors.New("boom")
	siblingStarted := make(chan struct{})
	p := mustPlan(t,
		Step{Action: Func{StepName: "bad", RunFunc: func(context.Context, *StepContext) error {
			<-siblingStarted
			return boom
		}}},
		Step{Action: Func{StepName: "sibling", RunFunc: func(context.Context, *StepContext) error {
			close(siblingStarted)
			time.Sleep(50 * time.Millisecond) // still running when bad fails
			tr.add("sibling finished")
			return nil
		}}},
		step("dependent", tr, "bad"),
		step("later", tr, "sibling"),
	)
	rec := &Recorder{}
	st := &memStatus{}
	err := (&Runner{Concurrency: 4, Sink: rec, Status: st}).Run(context.Background(), p)
	var se *StepError
	if !errors.As(err, &se) || se.Step != "bad" || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want StepError for bad", err)
	}
	if tr.index("sibling finished") < 0 {
		t.Error("the running sibling did not finish")
	}
	if tr.index("start dependent") >= 0 || tr.index("start later") >= 0 {
		t.Errorf("steps started after the failure: %v", tr.lines)
	}
	if st.m["bad"] != statusFailed || st.m["sibling"] != statusDone {
		t.Errorf("recorded %v", st.m)
	}
	var failed []string
	for _, e := range rec.Events() {
		if e.Kind == Failed {
			failed = append(failed, e.Step+": "+e.Message)
		}
	}
	if len(failed) != 1 || failed[0] != "bad: boom" {
		t.Errorf("failed events %v", failed)
	}
}

func TestSkipWhenDone(t *testing.T) {
	ran := false
	p := mustPlan(t, Step{Action: Func{StepName: "exists",
		DoneFunc: func(context.Context, *StepContext) (bool, error) { return true, nil },
		RunFunc:  func(context.Context, *StepContext) error { ran = true; return nil },
	}})
	rec := &Recorder{}
	if err := (&Runner{Sink: rec}).Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	ev := rec.Events()
	if ran || len(ev) != 1 || ev[0].Kind != Skipped {
		t.Fatalf("ran=%v events=%+v, want one skipped event", ran, ev)
	}
}

func TestResumeAfterCancel(t *testing.T) {
	st := &memStatus{}
	runs := map[string]int{}
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(context.Background())
	block := true
	mk := func(name string, needs ...string) Step {
		return Step{Action: Func{StepName: name, RunFunc: func(c context.Context, _ *StepContext) error {
			mu.Lock()
			runs[name]++
			b := block && name == "slow"
			mu.Unlock()
			if b {
				cancel() // Ctrl-C while this step runs
				<-c.Done()
				return c.Err()
			}
			return nil
		}}, Needs: needs}
	}
	plan := func() *Plan { return mustPlan(t, mk("first"), mk("slow", "first"), mk("last", "slow")) }

	err := (&Runner{Status: st}).Run(ctx, plan())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run = %v, want cancelled", err)
	}
	if st.m["slow"] != statusInterrupted || runs["last"] != 0 {
		t.Fatalf("after cancel: status %v runs %v", st.m, runs)
	}

	block = false
	if err := (&Runner{Status: st}).Run(context.Background(), plan()); err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"first": 1, "slow": 2, "last": 1}; !maps.Equal(runs, want) {
		t.Fatalf("runs = %v, want %v (only what had not finished re-runs)", runs, want)
	}
}

func TestStepDeadline(t *testing.T) {
	p := mustPlan(t, Step{Action: Func{StepName: "hangs", RunFunc: func(ctx context.Context, _ *StepContext) error {
		<-ctx.Done()
		return errors.New("waited for Gitea to answer")
	}}, Timeout: 20 * time.Millisecond})
	err := (&Runner{}).Run(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "gave up after 20ms: waited for Gitea") {
		t.Fatalf("err = %v", err)
	}
}

func TestUndoRunsInReverse(t *testing.T) {
	tr := &trace{}
	undo := func(name string, needs ...string) Step {
		return Step{Action: Func{StepName: name, UndoFunc: func(context.Context, *StepContext) error {
			tr.add(name)
			return nil
		}}, Needs: needs}
	}
	p := mustPlan(t, undo("cluster"), undo("gitea", "cluster"), undo("seed", "gitea"), undo("humanitec"))
	if err := (&Runner{Concurrency: 1}).Undo(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]string{{"seed", "gitea"}, {"gitea", "cluster"}} {
		if tr.index(pair[0]) > tr.index(pair[1]) {
			t.Errorf("%s undone after %s: %v", pair[0], pair[1], tr.lines)
		}
	}
	if len(tr.lines) != 4 {
		t.Errorf("undone %v", tr.lines)
	}
}

// TestUndoAfter: a step that a removal goes through (the agent chart, while
// Humanitec deletes apps through the agent) is undone after that removal,
// although nothing in the forward plan ties them.
func TestUndoAfter(t *testing.T) {
	tr := &trace{}
	undo := func(name string, needs, after []string) Step {
		return Step{Action: Func{StepName: name, UndoFunc: func(context.Context, *StepContext) error {
			tr.add(name)
			return nil
		}}, Needs: needs, UndoAfter: after}
	}
	// Listed first and independent: without UndoAfter it goes first.
	p := mustPlan(t, undo("agent-chart", nil, []string{"apps"}), undo("apps", nil, nil))
	if err := (&Runner{Concurrency: 1}).Undo(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if tr.index("apps") > tr.index("agent-chart") || len(tr.lines) != 2 {
		t.Errorf("undone in order %v, want apps before agent-chart", tr.lines)
	}
}

// TestDownRemovesHumanitecBeforeTheAgentChart: the real plan's edge.
func TestDownRemovesHumanitecBeforeTheAgentChart(t *testing.T) {
	in := &Install{}
	in.Options.HumanitecOrg = "o"
	p, err := UpPlan(in)
	if err != nil {
		t.Fatal(err)
	}
	needs := p.undoNeeds()
	for _, want := range []string{StepHumanitecApps, StepHumanitecDefinitions} {
		if !slices.Contains(needs[StepAgent], want) {
			t.Errorf("%s is undone without waiting for %s (waits for %v)", StepAgent, want, needs[StepAgent])
		}
	}
}

func TestPlanValidation(t *testing.T) {
	a := func(name string, needs ...string) Step { return Step{Action: Func{StepName: name}, Needs: needs} }
	tests := []struct {
		name  string
		steps []Step
		want  string
	}{
		{"duplicate", []Step{a("x"), a("x")}, "appears twice"},
		{"unknown need", []Step{a("x", "y")}, "unknown step"},
		{"cycle", []Step{a("x", "y"), a("y", "x")}, "cycle"},
		{"unknown undo-after", []Step{{Action: Func{StepName: "x"}, UndoAfter: []string{"y"}}}, "unknown step"},
		// y needs x, so x is undone after y; x undone before y is a cycle.
		{"undo cycle", []Step{a("x"), {Action: Func{StepName: "y"}, Needs: []string{"x"}, UndoAfter: []string{"x"}}}, "cycle"},
		{"no name", []Step{a("")}, "no name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewPlan(tt.steps...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewPlan = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestEventsAreRedactedAndPanicsFailTheStep(t *testing.T) {
	p := mustPlan(t,
		Step{Action: Func{StepName: "logs", RunFunc: func(_ context.Context, sc *StepContext) error {
			sc.Logger().Info("calling API", "auth", "Bearer s3cr3t-token")
			sc.Progress(1, 3, "object s3cr3t-token")
			return nil
		}}},
		Step{Action: Func{StepName: "panics", RunFunc: func(context.Context, *StepContext) error {
			panic("bug")
		}}},
	)
	rec := &Recorder{}
	redact := func(s string) string { return strings.ReplaceAll(s, "s3cr3t-token", "[redacted]") }
	err := (&Runner{Sink: rec, Redact: redact}).Run(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "step panics: panic: bug") {
		t.Fatalf("err = %v", err)
	}
	var sawLog, sawProgress bool
	for _, e := range rec.Events() {
		if strings.Contains(e.Message, "s3cr3t") {
			t.Errorf("event leaked the secret: %+v", e)
		}
		sawLog = sawLog || (e.Kind == Log && e.Message == "calling API auth=Bearer [redacted]")
		sawProgress = sawProgress || (e.Kind == Progress && e.Current == 1 && e.Total == 3)
	}
	if !sawLog || !sawProgress {
		t.Errorf("log=%v progress=%v in %+v", sawLog, sawProgress, rec.Events())
	}
}

// BenchmarkIndependentSteps shows the overlap of independent steps: eight
// steps of 20 ms each, one at a time against all at once.
func BenchmarkIndependentSteps(b *testing.B) {
	for _, limit := range []int{1, 8} {
		b.Run(fmt.Sprintf("concurrency=%d", limit), func(b *testing.B) {
			var steps []Step
			for i := range 8 {
				steps = append(steps, Step{Action: Func{StepName: fmt.Sprint("s", i), RunFunc: func(context.Context, *StepContext) error {
					time.Sleep(20 * time.Millisecond)
					return nil
				}}})
			}
			p, err := NewPlan(steps...)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := (&Runner{Concurrency: limit}).Run(context.Background(), p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

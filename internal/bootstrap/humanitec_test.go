package bootstrap

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/humanitec/humanitectest"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/state"
)

var (
	humKeyOnce sync.Once
	humKey     *rsa.PrivateKey
)

// testAgentKey is one agent key per test binary (making one takes
// seconds).
func testAgentKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	humKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, humanitec.AgentKeyBits)
		if err != nil {
			t.Fatal(err)
		}
		humKey = k
	})
	return humKey
}

// humInstall is an install whose Humanitec is a fake, with the agent key
// already in its state dir (making one takes seconds).
func humInstall(t *testing.T, fake *humanitectest.Server, token string) *Install {
	t.Helper()
	humKey := testAgentKey(t)
	dir := t.TempDir()
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	opts := config.Defaults()
	opts.HumanitecOrg = humanitectest.DefaultOrg
	opts.HumanitecAPIURL = fake.URL
	opts.HumanitecToken = secret.New(token)
	in := &Install{Options: opts, Store: st, Log: slog.New(slog.DiscardHandler)}
	if err := humanitec.WriteAgentKey(in.HumanitecAgentKeyPath(), humKey); err != nil {
		t.Fatal(err)
	}
	in.Humanitec.Cluster = func(context.Context) (humanitec.ClusterData, error) {
		return humanitec.ClusterData{Server: "https://5min-idp-control-plane:6443", Token: secret.New("cluster-token")}, nil
	}
	return in
}

func humRun(t *testing.T, in *Install, undo bool) ([]Event, error) {
	t.Helper()
	steps := humanitecSteps(in)
	if undo {
		steps = append(steps, humanitecForeignStep(in)...)
	}
	p, err := NewPlan(wireSubset(steps)...)
	if err != nil {
		t.Fatal(err)
	}
	rec := &Recorder{}
	r := &Runner{Sink: rec, Status: in.Store, Concurrency: 8}
	if undo {
		err = r.Undo(context.Background(), p)
	} else {
		err = r.Run(context.Background(), p)
	}
	return rec.Events(), err
}

func humKinds(events []Event, kind Kind) []string {
	var out []string
	for _, e := range events {
		if e.Kind == kind {
			out = append(out, e.Step)
		}
	}
	slices.Sort(out)
	return out
}

var humAllSteps = []string{StepHumanitecAgent, StepHumanitecAgentKey, StepHumanitecApps, StepHumanitecCheck,
	StepHumanitecDefinitions, StepHumanitecEnvType, StepHumanitecValues}

func TestHumanitecStepsUpRerunDown(t *testing.T) {
	fake := humanitectest.New(t)
	in := humInstall(t, fake, humanitectest.DefaultToken)

	events, err := humRun(t, in, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := humKinds(events, Done); !slices.Equal(got, append([]string{}, humAllSteps...)) {
		// The key existed already: its step is skipped.
		want := slices.DeleteFunc(slices.Clone(humAllSteps), func(s string) bool { return s == StepHumanitecAgentKey })
		if !slices.Equal(got, want) {
			t.Errorf("done steps = %q", got)
		}
	}
	id := in.Store.InstallID()
	for _, o := range []string{"app/5min-idp-" + id, "app/5min-backstage-" + id, "agent/5min-idp-" + id + "-agent",
		"definition/5min-idp-" + id + "-k8s-cluster", "value/5min-backstage-" + id + "/HUMANITEC_TOKEN", "env-type/5min-local"} {
		if !slices.Contains(fake.Objects(humanitectest.DefaultOrg), o) {
			t.Errorf("%s not registered", o)
		}
	}
	for _, o := range []struct{ kind, id string }{{"humanitec/app", "5min-backstage-" + id}, {"humanitec/agent", "5min-idp-" + id + "-agent"},
		{"humanitec/definition", "5min-idp-" + id + "-dns-localhost"}, {"humanitec/env-type", "5min-local"}} {
		if !in.Store.HasObject(o.kind, o.id) {
			t.Errorf("state lacks %s %s", o.kind, o.id)
		}
	}
	if key, err := in.agentPrivateKey(); err != nil || key.Empty() {
		t.Errorf("the agent chart step gets no private key: %v", err)
	}
	fi, err := os.Stat(in.HumanitecAgentKeyPath())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("agent key file: %v, %v", fi, err)
	}

	// A re-run checks the token again and skips every registration, with
	// reads only.
	fake.ResetCalls()
	in2 := &Install{Options: in.Options, Store: in.Store, Log: in.Log}
	in2.Humanitec.Cluster = in.Humanitec.Cluster
	events, err = humRun(t, in2, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := humKinds(events, Done); !slices.Equal(got, []string{StepHumanitecCheck}) {
		t.Errorf("re-run ran %q, want only the check", got)
	}
	if w := fake.Writes(); len(w) != 0 {
		t.Errorf("re-run wrote %+v", w)
	}
	if key, err := in2.agentPrivateKey(); err != nil || key.Empty() {
		t.Errorf("a re-run gives the agent chart step no private key: %v", err)
	}

	// down: everything goes, apps before definitions before the agent,
	// the env type last; the key file with the agent.
	fake.ResetCalls()
	if _, err := humRun(t, in2, true); err != nil {
		t.Fatal(err)
	}
	if got := fake.Objects(humanitectest.DefaultOrg); len(got) != 0 {
		t.Errorf("left after down: %q", got)
	}
	var order []string
	for _, c := range fake.Calls() {
		if c.Method != http.MethodDelete || c.Status >= 300 {
			continue
		}
		kind := strings.Split(strings.TrimPrefix(c.Path, "/orgs/fake-org/"), "/")[0]
		if kind == "resources" {
			kind = "defs"
		}
		if len(order) == 0 || order[len(order)-1] != kind {
			order = append(order, kind)
		}
	}
	if want := []string{"apps", "defs", "agents", "env-types"}; !slices.Equal(order, want) {
		t.Errorf("delete order %q, want %q", order, want)
	}
	for _, o := range in2.Store.Snapshot().Objects {
		t.Errorf("state still lists %s %s", o.Kind, o.ID)
	}
	if _, err := os.Stat(in.HumanitecAgentKeyPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("agent key file left: %v", err)
	}

	// A second down changes nothing.
	fake.ResetCalls()
	in3 := &Install{Options: in.Options, Store: in.Store, Log: in.Log}
	if _, err := humRun(t, in3, true); err != nil {
		t.Fatal(err)
	}
	if w := fake.Writes(); len(w) != 0 {
		t.Errorf("second down wrote %+v", w)
	}
}

func TestHumanitecIndependentRegistrationsOverlap(t *testing.T) {
	fake := humanitectest.New(t, humanitectest.WithLatency(40*time.Millisecond))
	in := humInstall(t, fake, humanitectest.DefaultToken)
	events, err := humRun(t, in, false)
	if err != nil {
		t.Fatal(err)
	}
	at := func(step string, kind Kind) time.Time {
		for _, e := range events {
			if e.Step == step && e.Kind == kind {
				return e.Time
			}
		}
		t.Fatalf("no %s event for %s", kind, step)
		return time.Time{}
	}
	// The apps and the agent go at the same time, and so do the values and
	// the definitions.
	if !at(StepHumanitecAgent, Started).Before(at(StepHumanitecApps, Done)) ||
		!at(StepHumanitecApps, Started).Before(at(StepHumanitecAgent, Done)) {
		t.Error("the apps and the agent did not overlap")
	}
	if !at(StepHumanitecDefinitions, Started).Before(at(StepHumanitecValues, Done)) {
		t.Error("the definitions waited for the values")
	}
	// Progress reports k of n objects.
	var progress bool
	for _, e := range events {
		if e.Step == StepHumanitecDefinitions && e.Kind == Progress && e.Total == 8 && e.Current == 8 {
			progress = true
		}
	}
	if !progress {
		t.Error("no 8 of 8 progress event for the definitions")
	}
}

func TestHumanitecBadTokenStopsAtTheCheck(t *testing.T) {
	fake := humanitectest.New(t)
	in := humInstall(t, fake, "hum-expired")
	events, err := humRun(t, in, false)
	var se *StepError
	if !errors.As(err, &se) || se.Step != StepHumanitecCheck || !config.IsInput(err) {
		t.Fatalf("err = %v, want the check step to fail with bad input", err)
	}
	var fix string
	for _, e := range events {
		if e.Kind == Failed && e.Step == StepHumanitecCheck {
			fix = e.Fix
		}
		if e.Kind == Started && e.Step != StepHumanitecCheck && e.Step != StepHumanitecAgentKey {
			t.Errorf("%s started after the check failed", e.Step)
		}
	}
	if !strings.Contains(fix, "HUMANITEC_TOKEN") {
		t.Errorf("fix = %q", fix)
	}
	if w := fake.Writes(); len(w) != 0 {
		t.Errorf("writes: %+v", w)
	}
}

func TestHumanitecSkipped(t *testing.T) {
	in := &Install{Options: config.Defaults()}
	in.Options.SkipHumanitec = true
	if s := humanitecSteps(in); len(s) != 0 {
		t.Errorf("%d Humanitec steps with --skip-humanitec", len(s))
	}
}

// TestHumanitecTutorialObjectsOnlyOnRequest: of the objects PocketIDP did
// not create, `down` removes exactly those picked, each by its id, and
// nothing when none is (issue 14, point 3).
func TestHumanitecTutorialObjectsOnlyOnRequest(t *testing.T) {
	for _, tt := range []struct {
		name   string
		picked []string
		left   []string
	}{
		{"none", nil, []string{"app/my-service", "class/postgres/5min", "env-type/5min-local", "env/my-service/5min-local"}},
		{"the class alone", []string{"class postgres/5min"}, []string{"app/my-service", "env-type/5min-local", "env/my-service/5min-local"}},
		{"all", []string{"app my-service", "class postgres/5min"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := humanitectest.New(t)
			in := humInstall(t, fake, humanitectest.DefaultToken)
			if _, err := humRun(t, in, false); err != nil {
				t.Fatal(err)
			}
			fake.SeedApp(humanitectest.DefaultOrg, humanitectest.App{ID: "my-service", Name: "my-service",
				Envs: map[string]string{config.EnvType: config.EnvType}})
			fake.SeedClass(humanitectest.DefaultOrg, "postgres", "5min")
			inv, err := HumanitecInventory(context.Background(), in)
			if err != nil || len(inv.Foreign) != 2 {
				t.Fatalf("inventory = %+v, %v", inv, err)
			}
			var keys []string
			for _, f := range inv.Foreign {
				keys = append(keys, f.Key())
			}
			slices.Sort(keys)
			if want := []string{"app my-service", "class postgres/5min"}; !slices.Equal(keys, want) {
				t.Errorf("foreign keys = %q, want %q", keys, want)
			}
			in.Humanitec.Foreign = tt.picked
			if _, err := humRun(t, in, true); err != nil {
				t.Fatal(err)
			}
			if left := fake.Objects(humanitectest.DefaultOrg); !slices.Equal(left, tt.left) {
				t.Errorf("left %q, want %q", left, tt.left)
			}
		})
	}
}

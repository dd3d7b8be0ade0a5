package humanitec

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/pocketidp/pocketidp/internal/humanitec/humanitectest"
	"github.com/pocketidp/pocketidp/internal/report"
)

// seedCourse puts in place what the course makes besides PocketIDP: an app
// scaffolded from Backstage on 5min-local, the tutorial's class and its
// postgres definition, plus an app that has nothing to do with the course.
func seedCourse(s *humanitectest.Server) {
	o := humanitectest.DefaultOrg
	s.SeedApp(o, humanitectest.App{ID: "my-service", Name: "my-service", Envs: map[string]string{EnvTypeID: EnvTypeID}})
	s.SeedClass(o, "postgres", TutorialClass)
	s.SeedDefinition(o, humanitectest.Definition{ID: "hum-rp-postgres-ex-postgres", Name: "hum-rp-postgres-ex-postgres",
		Type: "postgres", DriverType: "humanitec/template",
		Criteria: []map[string]string{{"env_type": EnvTypeID, "class": TutorialClass}}})
	s.SeedApp(o, humanitectest.App{ID: "unrelated", Name: "unrelated", Envs: map[string]string{"development": "development"}})
}

var courseObjects = []string{
	"app/my-service", "env/my-service/5min-local", "class/postgres/5min", "definition/hum-rp-postgres-ex-postgres",
	"criteria/hum-rp-postgres-ex-postgres/{env_type=5min-local, class=5min}",
	"app/unrelated", "env/unrelated/development", "env-type/development",
}

// deletes returns the DELETE calls that did something, as "kind id".
func deletes(s *humanitectest.Server) []string {
	var out []string
	for _, c := range s.Calls() {
		if c.Method != http.MethodDelete || c.Status >= 300 || c.Fault != "" {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(c.Path, "/orgs/fake-org/"), "/")
		switch {
		case parts[0] == "apps":
			out = append(out, "app "+parts[1])
		case parts[0] == "resources" && parts[1] == "types":
			out = append(out, "class "+parts[2]+"/"+parts[4])
		case parts[0] == "resources" && len(parts) == 5:
			out = append(out, "criteria "+parts[2])
		case parts[0] == "resources":
			out = append(out, "definition "+parts[2])
		case parts[0] == "agents":
			out = append(out, "agent "+parts[1])
		case parts[0] == "env-types":
			out = append(out, "env-type "+parts[1])
		}
	}
	return out
}

// checkOrder checks that all deletes of an earlier stage come before any of
// a later one (a stage is one or more kinds, "criteria|definition"), and
// that a definition's criteria go before the definition.
func checkOrder(t *testing.T, got []string, stages ...string) {
	t.Helper()
	stageOf := func(s string) int {
		for i, st := range stages {
			for _, k := range strings.Split(st, "|") {
				if strings.HasPrefix(s, k+" ") {
					return i
				}
			}
		}
		return -1
	}
	prev := -1
	for _, s := range got {
		st := stageOf(s)
		if st < 0 {
			continue
		}
		if st < prev {
			t.Errorf("%s deleted after a later stage began: %q", s, got)
			return
		}
		prev = st
	}
	for i, s := range got {
		if id, ok := strings.CutPrefix(s, "definition "); ok && slices.Contains(got[i:], "criteria "+id) {
			t.Errorf("definition %s deleted before its criteria: %q", id, got)
		}
	}
}

func TestTeardownRemovesExactlyOursInOrder(t *testing.T) {
	fake := humanitectest.New(t)
	e := newEnv(t, fake)
	ctx := context.Background()
	if err := e.reg.RegisterAll(ctx); err != nil {
		t.Fatal(err)
	}
	seedCourse(fake)
	fake.ResetCalls()
	var logs bytes.Buffer
	logged := report.With(ctx, report.Reporter{Log: slog.New(slog.NewTextHandler(&logs, nil))})

	inv, err := e.reg.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var foreign []string
	for _, f := range inv.Foreign {
		foreign = append(foreign, f.Kind+" "+f.ID)
	}
	slices.Sort(foreign)
	if want := []string{"app my-service", "class postgres/5min", "definition hum-rp-postgres-ex-postgres"}; !slices.Equal(foreign, want) {
		t.Errorf("foreign = %q, want %q", foreign, want)
	}
	if len(inv.Ours) != 12 { // env type, 2 apps, 8 definitions, agent
		t.Errorf("ours = %v", inv.Ours)
	}

	e.open()
	if err := e.reg.Teardown(logged, TeardownOptions{}); err != nil {
		t.Fatal(err)
	}
	// Exactly the course's objects are left, and the env type: this install
	// made it, but my-service still uses it.
	got := withoutKeys(fake.Objects(humanitectest.DefaultOrg))
	want := append(slices.Clone(courseObjects), "env-type/5min-local")
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("left after teardown:\n got %q\nwant %q", got, want)
	}
	if !strings.Contains(logs.String(), "still used by apps my-service") {
		t.Errorf("the log does not say which app keeps the env type:\n%s", logs.String())
	}
	del := deletes(fake)
	checkOrder(t, del, "app", "criteria|definition", "agent")
	if len(del) != 2+8+8+1 {
		t.Errorf("deletes = %q", del)
	}
	for _, o := range e.objects() {
		if o != KindEnvType+" "+EnvTypeID {
			t.Errorf("state still lists %s", o)
		}
	}

	// A second teardown finds nothing of ours and writes nothing.
	fake.ResetCalls()
	e.open()
	if err := e.reg.Teardown(logged, TeardownOptions{}); err != nil {
		t.Fatal(err)
	}
	if w := fake.Writes(); len(w) != 0 {
		t.Errorf("second teardown wrote: %+v", w)
	}
}

func TestTeardownWithTutorialObjects(t *testing.T) {
	fake := humanitectest.New(t)
	e := newEnv(t, fake)
	ctx := context.Background()
	if err := e.reg.RegisterAll(ctx); err != nil {
		t.Fatal(err)
	}
	seedCourse(fake)
	fake.ResetCalls()
	if err := e.reg.Teardown(ctx, TeardownOptions{IncludeTutorialObjects: true}); err != nil {
		t.Fatal(err)
	}
	got := withoutKeys(fake.Objects(humanitectest.DefaultOrg))
	want := []string{"app/unrelated", "env-type/development", "env/unrelated/development"}
	if !slices.Equal(got, want) {
		t.Errorf("left:\n got %q\nwant %q", got, want)
	}
	del := deletes(fake)
	// This install's objects first, in their order; then, as asked, the
	// course's in the same order; the env type last, once nothing uses it.
	var ours, theirs []string
	for _, d := range del {
		if strings.Contains(d, Prefix(testInstall)) || strings.Contains(d, AppID(testInstall)) || strings.Contains(d, BackstageAppID(testInstall)) {
			ours = append(ours, d)
		} else {
			theirs = append(theirs, d)
		}
	}
	checkOrder(t, ours, "app", "criteria|definition", "agent")
	checkOrder(t, theirs, "app", "criteria|definition", "class", "env-type")
	if i := slices.Index(del, theirs[0]); !slices.Equal(del[:i], ours) {
		t.Errorf("the course's objects were deleted before this install's were done: %q", del)
	}
	// The env type goes last, once nothing uses it.
	if len(del) == 0 || del[len(del)-1] != "env-type 5min-local" {
		t.Errorf("deletes = %q, want the env type last", del)
	}
	if !slices.Contains(del, "app my-service") || !slices.Contains(del, "class postgres/5min") {
		t.Errorf("course objects not deleted: %q", del)
	}
	if len(e.objects()) != 0 {
		t.Errorf("state still lists %q", e.objects())
	}
}

func TestTeardownKeepsAnEnvTypeItDidNotCreate(t *testing.T) {
	fake := humanitectest.New(t)
	fake.SeedEnvType(humanitectest.DefaultOrg, EnvTypeID)
	e := newEnv(t, fake)
	ctx := context.Background()
	if err := e.reg.RegisterAll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Teardown(ctx, TeardownOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := withoutKeys(fake.Objects(humanitectest.DefaultOrg)); !slices.Equal(got, []string{"env-type/5min-local"}) {
		t.Errorf("left: %q", got)
	}
}

func TestTeardownAfterObjectsWereDeletedByHand(t *testing.T) {
	fake := humanitectest.New(t)
	e := newEnv(t, fake)
	ctx := context.Background()
	if err := e.reg.RegisterAll(ctx); err != nil {
		t.Fatal(err)
	}
	// Someone removed an app and a definition in the UI: 404 is gone.
	c := e.client
	if err := c.DeleteApp(ctx, AppID(testInstall)); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteDefinition(ctx, Prefix(testInstall)+DefPostgres); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Teardown(ctx, TeardownOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := withoutKeys(fake.Objects(humanitectest.DefaultOrg)); len(got) != 0 {
		t.Errorf("left: %q", got)
	}
	if len(e.objects()) != 0 {
		t.Errorf("state still lists %q", e.objects())
	}
}

func TestTeardownOfAnInstallThatLostItsState(t *testing.T) {
	// Objects carrying this install's names and markers are taken back
	// even when the state lost track of them (a crash between create and
	// record), since nobody else makes them.
	fake := humanitectest.New(t)
	e := newEnv(t, fake)
	ctx := context.Background()
	if err := e.reg.RegisterAll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, o := range e.store.Snapshot().Objects {
		if o.Kind != KindEnvType {
			if err := e.store.RemoveObject(o.Kind, o.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := e.reg.Teardown(ctx, TeardownOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := withoutKeys(fake.Objects(humanitectest.DefaultOrg)); len(got) != 0 {
		t.Errorf("left: %q", got)
	}
}

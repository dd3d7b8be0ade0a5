package cli

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/humanitec/humanitectest"
	"github.com/pocketidp/pocketidp/internal/state"
	"github.com/pocketidp/pocketidp/internal/tui"
)

// seedTutorial puts on 5min-local what the course's tutorial makes there,
// which PocketIDP did not create.
func seedTutorial(b *bed) {
	o := humanitectest.DefaultOrg
	b.hum.SeedApp(o, humanitectest.App{ID: "scaffolded", Name: "scaffolded", Envs: map[string]string{config.EnvType: config.EnvType}})
	b.hum.SeedClass(o, "postgres", "5min")
	b.hum.SeedDefinition(o, humanitectest.Definition{ID: "hum-rp-postgres-ex-postgres", Name: "hum-rp-postgres-ex-postgres",
		Type: "postgres", DriverType: "humanitec/template", Criteria: []map[string]string{{"class": "5min"}}})
}

var tutorialObjects = []string{"app/scaffolded", "class/postgres/5min", "definition/hum-rp-postgres-ex-postgres"}

func (b *bed) has(obj string) bool {
	return slices.Contains(b.hum.Objects(humanitectest.DefaultOrg), obj)
}

// TestDownYesIncludeTutorialObjects: what `down --yes
// --include-tutorial-objects` lists before removing is what it removes,
// each object by its id (issue 14, point 3).
func TestDownYesIncludeTutorialObjects(t *testing.T) {
	b := newBed(t)
	if r := b.run(t, "up", "--yes"); r.code != 0 {
		t.Fatalf("up exit %d\nstderr: %s", r.code, r.stderr)
	}
	seedTutorial(b)
	r := b.run(t, "down", "--yes", "--include-tutorial-objects")
	if r.code != 0 {
		t.Fatalf("down exit %d\nstderr: %s", r.code, r.stderr)
	}
	removing, _, _ := strings.Cut(r.stdout, "Left in place")
	for _, want := range []string{"app scaffolded", "class postgres/5min", "definition hum-rp-postgres-ex-postgres"} {
		if !strings.Contains(removing, want) {
			t.Errorf("down does not list %q as removed:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "Left in place") {
		t.Errorf("down lists something as left in place, and removes everything:\n%s", r.stdout)
	}
	for _, o := range tutorialObjects {
		if b.has(o) {
			t.Errorf("%s is left, although listed as removed", o)
		}
	}
}

// TestDownPicksActAlone: on the selection screen a pick acts on that item
// alone: one object PocketIDP did not create goes and the others stay;
// "Local state" alone removes the state and nothing else (issue 14,
// point 3). The accessible screen is the same model, typed line by line.
func TestDownPicksActAlone(t *testing.T) {
	b := newBed(t)
	if r := b.run(t, "up", "--yes"); r.code != 0 {
		t.Fatalf("up exit %d\nstderr: %s", r.code, r.stderr)
	}
	seedTutorial(b)
	b.envOver = map[string]string{"TERM": "dumb"}
	// The options: 1 cluster, 2 Gitea, 3 Humanitec of this install, 4-6
	// the tutorial's (app, definition, class, in Humanitec's order), 7
	// the state. Uncheck 1, 2, 3 and 7; check the class.
	r := b.runOn(t, true, "1\n2\n3\n7\n6\n0\ny\n", "down")
	if r.code != 0 {
		t.Fatalf("down exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "class postgres/5min") {
		t.Fatalf("the options do not name the class by its id:\n%s", r.stdout)
	}
	if b.has("class/postgres/5min") || !b.has("app/scaffolded") || !b.has("definition/hum-rp-postgres-ex-postgres") {
		t.Errorf("picking the class alone left %q", b.hum.Objects(humanitectest.DefaultOrg))
	}
	if _, _, err := b.giteaAdmin(t).GetOrg("5minorg"); err != nil {
		t.Errorf("Gitea's org is gone although not picked: %v", err)
	}
	stateDir := filepath.Join(b.dir, "state")
	if _, err := state.Read(stateDir); err != nil {
		t.Fatalf("the state is gone although not picked: %v", err)
	}

	// Only "Local state" (the last option now that the class is gone).
	r = b.runOn(t, true, "1\n2\n3\n0\ny\n", "down")
	if r.code != 0 {
		t.Fatalf("down exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if _, err := state.Read(stateDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state after picking only Local state: %v, want none", err)
	}
	if _, _, err := b.giteaAdmin(t).GetOrg("5minorg"); err != nil {
		t.Errorf("Gitea's org is gone although only the state was picked: %v", err)
	}
}

// With the local orchestrator, keeping the install's registrations keeps
// the orchestrator that holds them, and removing them removes it.
func TestDownKeepsTheLocalOrchestratorWithItsRegistrations(t *testing.T) {
	all := []tui.TeardownItem{{Group: tui.GroupCluster}, {Group: tui.GroupHumanitec}, {Group: tui.GroupState}}
	tests := []struct {
		name   string
		chosen []tui.TeardownItem
		kept   bool
	}{
		{"registrations kept", []tui.TeardownItem{{Group: tui.GroupCluster}}, true},
		{"registrations removed", []tui.TeardownItem{{Group: tui.GroupCluster}, {Group: tui.GroupHumanitec}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &bootstrap.Install{Options: config.Defaults()}
			if _, _, err := applySelection(in, all, tt.chosen); err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{bootstrap.StepOrchestrator, bootstrap.StepOrchestratorCredentials, bootstrap.StepHumanitecApps} {
				if in.Keep[s] != tt.kept {
					t.Errorf("keep %s = %v, want %v", s, in.Keep[s], tt.kept)
				}
			}
		})
	}
}

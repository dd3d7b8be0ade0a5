package cli

import (
	"slices"
	"testing"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/orchestrator"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/state"
	"github.com/pocketidp/pocketidp/internal/tui"
)

// `status` shows the local orchestrator (its steps and its page) when it
// is the install's orchestrator, and neither with Humanitec or skipped.
func TestStatusLinksTheLocalOrchestrator(t *testing.T) {
	tests := []struct {
		name   string
		change func(*config.Options)
		want   bool
	}{
		{"local orchestrator", func(*config.Options) {}, true},
		{"Humanitec", func(o *config.Options) { o.HumanitecOrg, o.HumanitecToken = "acme", secret.New("t") }, false},
		{"skipped", func(o *config.Options) { o.SkipHumanitec = true }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := config.Defaults()
			tt.change(&o)
			f := &state.File{InstallID: "abcd", Options: o,
				Steps:  map[string]state.StepRecord{"orchestrator/install": {Status: state.StepDone}},
				Values: map[string]string{orchestrator.StateURL: orchestrator.URL(o.Port)}}
			st := statusOf(f, t.TempDir())
			hasLink := slices.ContainsFunc(st.URLs, func(l tui.Link) bool {
				return l.Name == "Orchestrator" && l.URL == "https://orchestrator.localhost:8443/"
			})
			hasComp := slices.ContainsFunc(st.Components, func(c tui.Component) bool { return c.Name == "orchestrator" && c.Health == tui.Healthy })
			if hasLink != tt.want || hasComp != tt.want {
				t.Errorf("link %v, component %v, want %v: %+v", hasLink, hasComp, tt.want, st)
			}
		})
	}
}

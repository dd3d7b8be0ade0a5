package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/doctor"
	"github.com/pocketidp/pocketidp/internal/orchestrator"
	"github.com/pocketidp/pocketidp/internal/state"
	"github.com/pocketidp/pocketidp/internal/tui"
)

// runStatus is `pocketidp status`: what the state records, and whether it answers now.
func (a *app) runStatus(cmd *cobra.Command, _ []string) error {
	o, err := a.options(cmd)
	if err != nil {
		return err
	}
	if o.Output != "text" && o.Output != "json" {
		return &config.InputError{Msg: fmt.Sprintf("output %q is not known", o.Output), Hint: "use -o text or -o json"}
	}
	st := tui.Status{StateDir: o.StateDir, Name: o.Name}
	f, err := state.Read(o.StateDir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	default:
		st = statusOf(f, o.StateDir)
		a.checkCluster(cmd.Context(), f, &st)
		probe(cmd.Context(), f.Options, o.StateDir, st.URLs)
	}
	if st.Components == nil {
		st.Components = []tui.Component{}
	}
	if st.URLs == nil {
		st.URLs = []tui.Link{}
	}
	if o.Output == "json" {
		err = writeJSON(a.env.Stdout, st)
	} else {
		err = tui.Print(a.env.Stdout, nil, tui.RenderStatus(st, 80))
	}
	if err != nil {
		return err
	}
	// Scripts read the exit code: 1 when the platform is not healthy.
	if p := st.Problems(); len(p) > 0 {
		return fmt.Errorf("the platform is not healthy: %s", strings.Join(p, "; "))
	}
	return nil
}

// checkCluster asks the engine whether the kind cluster the state records
// still runs: a cluster deleted by hand is missing, whatever the steps say.
// (An existing cluster's health shows in the URL probes.)
func (a *app) checkCluster(ctx context.Context, f *state.File, st *tui.Status) {
	if f.Options.ExistingCluster() || f.Steps[bootstrap.StepCluster].Status != state.StepDone {
		return
	}
	i := slices.IndexFunc(st.Components, func(c tui.Component) bool { return c.Name == "cluster" })
	if i < 0 {
		return
	}
	running, err := doctor.ClusterRunning(ctx, a.env.Host, f.Options.Name)
	switch {
	case err != nil:
		st.Components[i].Health, st.Components[i].Detail = tui.Unknown, "could not ask the container engine: "+err.Error()
	case !running:
		st.Components[i].Health = tui.Missing
		st.Components[i].Detail = "node container " + f.Options.NodeName() + " is not running: start it (docker or podman start " +
			f.Options.NodeName() + "), or, if it was deleted, run `pocketidp up` to make it again"
	}
}

// probeTimeout bounds each URL's answer in `status`.
const probeTimeout = 5 * time.Second

// probe asks every URL once, all at the same time, the way a browser on
// this machine reaches them (through the ingress, trusting PocketIDP's
// CA), and records each answer: the state says what was made, this says
// whether it works now.
func probe(ctx context.Context, o config.Options, stateDir string, links []tui.Link) {
	o.StateDir = stateDir // the CA is there
	in := &bootstrap.Install{Options: o}
	hc, err := in.IngressClient()
	if err != nil {
		for i := range links {
			links[i].Answer = err.Error()
		}
		return
	}
	hc.Timeout = probeTimeout
	var wg sync.WaitGroup
	for i := range links {
		wg.Go(func() {
			l := &links[i]
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.URL, nil)
			if err != nil {
				l.Answer = err.Error()
				return
			}
			resp, err := hc.Do(req)
			if err != nil {
				l.Answer = "no answer: " + bootstrap.NetCause(err)
				return
			}
			resp.Body.Close()
			l.Answer, l.Answers = "HTTP "+strconv.Itoa(resp.StatusCode), resp.StatusCode < 400
		})
	}
	wg.Wait()
}

// statusOf groups the recorded steps into components: a component is
// healthy when all its steps finished, degraded when one failed or was
// interrupted, missing when none ran.
func statusOf(f *state.File, stateDir string) tui.Status {
	st := tui.Status{Installed: true, InstallID: f.InstallID, Name: f.Options.Name, StateDir: stateDir}
	comps := []struct{ name, prefix string }{
		{"cluster", bootstrap.StepCluster}, {"tls", bootstrap.StepTLS}, {"coredns", bootstrap.StepCoreDNS},
		{"charts", "charts/"}, {"gitea", "gitea/"}, {"humanitec", "humanitec/"}, {"backstage", "backstage/"},
	}
	if f.Options.LocalOrchestrator() {
		comps = slices.Insert(comps, 5, struct{ name, prefix string }{"orchestrator", "orchestrator/"})
	}
	for _, c := range comps {
		health, detail := tui.Missing, "not created"
		var done, bad []string
		for _, name := range slices.Sorted(maps.Keys(f.Steps)) {
			if name != c.prefix && !strings.HasPrefix(name, c.prefix) {
				continue
			}
			if f.Steps[name].Status == state.StepDone {
				done = append(done, name)
			} else {
				bad = append(bad, name+" "+f.Steps[name].Status)
			}
		}
		switch {
		case len(bad) > 0:
			health, detail = tui.Degraded, strings.Join(bad, ", ")
		case len(done) > 0:
			health, detail = tui.Healthy, fmt.Sprintf("%d steps done", len(done))
		}
		switch {
		case c.name == "humanitec" && f.Options.SkipHumanitec:
			health, detail = tui.Unknown, "skipped (--skip-humanitec)"
		case c.name == "humanitec" && f.Options.LocalOrchestrator() && health == tui.Healthy:
			detail += ", registered with PocketIDP's local orchestrator"
		case c.name == "backstage" && f.Options.SkipHumanitec:
			health, detail = tui.Unknown, "not deployed: the orchestrator deploys it, and it was skipped"
		case c.name == "backstage" && health != tui.Degraded && f.Values[bootstrap.ValueBackstageURL] == "":
			// The first build takes 10-15 minutes and only `up --wait`
			// follows it: not seen yet is not missing.
			health, detail = tui.Unknown, "no deployment seen yet: run `pocketidp up` again when the build is done, or `pocketidp up --wait`"
		}
		st.Components = append(st.Components, tui.Component{Name: c.name, Health: health, Detail: detail})
	}
	st.URLs = []tui.Link{{Name: "Gitea", URL: f.Options.GiteaURL(), Login: f.Options.GiteaAdmin}}
	if u := f.Values[bootstrap.ValueBackstageURL]; u != "" {
		st.URLs = append(st.URLs, tui.Link{Name: "Backstage", URL: u, Login: "guest"})
	}
	if u := f.Values[orchestrator.StateURL]; u != "" && f.Options.LocalOrchestrator() {
		st.URLs = append(st.URLs, tui.Link{Name: "Orchestrator", URL: u + "/"})
	}
	return st
}

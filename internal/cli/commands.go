package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/charts"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/doctor"
	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/output"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/state"
	"github.com/pocketidp/pocketidp/internal/tui"
)

// version is stamped by the Makefile (-X); a plain `go build` reports the
// module version or "dev".
var version = ""

// versionNumber is the stamped version, else the module's, else "dev".
func versionNumber() string {
	v := version
	if v == "" {
		v = "dev"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	return v
}

// versionString is what `pocketidp version` and `--version` print.
func versionString() string {
	return fmt.Sprintf("%s (%s %s/%s)", versionNumber(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func (a *app) runVersion(cmd *cobra.Command, _ []string) error {
	v := versionNumber()
	info := struct {
		Version string `json:"version"`
		Go      string `json:"go"`
		OS      string `json:"os"`
		Arch    string `json:"arch"`
	}{v, runtime.Version(), runtime.GOOS, runtime.GOARCH}
	if a.flags.output == "json" {
		return writeJSON(a.env.Stdout, info)
	}
	fmt.Fprintf(a.env.Stdout, "pocketidp %s (%s %s/%s)\n", info.Version, info.Go, info.OS, info.Arch)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// prepare resolves and validates the options and opens the debug log.
func (a *app) prepare(cmd *cobra.Command, validate bool) (*bootstrap.Install, func(), error) {
	a.cmdName = cmd.Name()
	o, err := a.options(cmd)
	if err != nil {
		return nil, nil, err
	}
	if validate {
		if o.Yes && o.HumanitecOrg == "" && o.HumanitecToken.Empty() && !o.SkipHumanitec {
			// SPEC §3: --yes without org and token builds everything else.
			o.SkipHumanitec = true
		}
		if o.Wait && o.SkipHumanitec && cmd.Flags().Changed("wait") {
			a.warn("--wait is ignored: Humanitec is skipped, and Backstage is deployed by Humanitec, so there is nothing to wait for")
		}
		if err := o.Validate(); config.IsInput(err) {
			// Reported with the pre-flight checks' findings: the user
			// fixes everything in one go.
			a.inputErr = err
		} else if err != nil {
			return nil, nil, err
		}
	} else if o.Output != "text" && o.Output != "json" {
		return nil, nil, &config.InputError{Msg: fmt.Sprintf("output %q is not known", o.Output), Hint: "use -o text or -o json"}
	}
	log, closeLog, err := a.openLog(cmd.Name(), o)
	if err != nil {
		return nil, nil, err
	}
	in := &bootstrap.Install{Options: o, Host: a.env.Host, Log: log}
	in.Gitea.URL = a.flags.giteaURL
	if a.flags.noPodWait {
		in.Charts.Wait = charts.WaitHooksOnly
	}
	return in, closeLog, nil
}

// openLog opens the full debug log that every run writes, through the
// redactor so no secret reaches it.
func (a *app) openLog(cmdName string, o config.Options) (*slog.Logger, func(), error) {
	path := o.LogFile
	if path == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		path = filepath.Join(dir, "pocketidp", "logs", fmt.Sprintf("%s-%s.log", cmdName, a.env.Now().Format("20060102-150405")))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, &config.InputError{Msg: fmt.Sprintf("create log dir: %v", err), Hint: "pass --log-file with a writable path"}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, &config.InputError{Msg: fmt.Sprintf("open log file: %v", err), Hint: "pass --log-file with a writable path"}
	}
	a.logPath = path
	log := slog.New(slog.NewTextHandler(a.redactor.Writer(f), &slog.HandlerOptions{Level: slog.LevelDebug}))
	log.Info("pocketidp start", "command", cmdName, "options", o)
	return log, func() { f.Close() }, nil
}

// sink is the renderer the options ask for.
func (a *app) sink(o config.Options) bootstrap.Sink {
	lvl := slog.LevelInfo
	if a.flags.verbose {
		lvl = slog.LevelDebug
	}
	w := a.redactor.Writer(a.env.Stdout)
	if o.Output == "json" {
		return &output.JSON{W: w, MinLevel: lvl}
	}
	// No colour for screen readers, nor for terminals that cannot show it.
	color := a.env.IsTTY && a.mode() != tui.Accessible && a.env.Getenv("TERM") != "dumb"
	return &output.Text{W: w, Color: color, MinLevel: lvl}
}

func (a *app) runner(in *bootstrap.Install, sink bootstrap.Sink, status bootstrap.StatusStore) *bootstrap.Runner {
	return &bootstrap.Runner{Sink: sink, Status: status, Redact: a.redactor.Redact, Log: in.Log, Concurrency: 6}
}

func (a *app) runUp(cmd *cobra.Command, _ []string) error {
	if a.flags.dryRun {
		return a.upDryRun(cmd)
	}
	if a.flags.output == outputYAML {
		return &config.InputError{Msg: "-o yaml shows what up would create, without creating it", Hint: "pass --dry-run with -o yaml, or use -o text or -o json"}
	}
	mode := a.mode()
	if err := a.bareNeedsTerminal(cmd, mode); err != nil {
		return err
	}
	// The wizard asks for what is missing, so only headless runs must have
	// everything up front.
	in, closeLog, err := a.prepare(cmd, !mode.Asks())
	if err != nil {
		return err
	}
	defer closeLog()
	fmt.Fprint(a.env.Stderr, savedNote(a.saved, in.Options.StateDir))
	a.printWarnings()
	if !mode.Asks() {
		return a.upPlain(cmd.Context(), in)
	}

	// The wizard waits for a person, so --timeout starts when it is done;
	// the user may also have turned --wait on in it.
	ctx := cmd.Context()
	o, err := tui.RunWizard(ctx, tui.WizardInput{
		Options: in.Options,
		Doctor:  doctor.Run(ctx, a.env.Host, in.Options),
		Plan:    a.planPreview(in),
		Check:   a.checkHumanitec(in.Options),
		Refresh: func(ctx context.Context, o config.Options) ([]doctor.Result, []tui.PlanStep) {
			return doctor.Run(ctx, a.env.Host, o), a.planPreview(&bootstrap.Install{Options: o, Host: a.env.Host, Log: in.Log})
		},
		Accessible:     mode == tui.Accessible,
		In:             a.env.Stdin,
		Out:            a.env.Stdout,
		ProgramOptions: a.programOptions(),
	})
	if errors.Is(err, tui.ErrAborted) {
		return fmt.Errorf("%w: %w", context.Canceled, err)
	}
	if err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return err
	}
	in.Options = o
	a.redactor.Add(o.HumanitecToken)
	if mode == tui.Accessible {
		// Plain lines from here on: a screen reader follows them, and
		// TERM=dumb cannot redraw a progress view.
		return a.upPlain(ctx, in)
	}
	ctx, cancel := context.WithTimeout(ctx, upBudget(o))
	defer cancel()
	return tui.RunProgress(ctx, tui.ProgressInput{
		Title:   "creating " + o.Name,
		Steps:   a.stepNames(in),
		LogPath: a.logPath,
		Resume:  "pocketidp up",
		Verbose: a.flags.verbose,
		Run: func(ctx context.Context, sink bootstrap.Sink) (*tui.Summary, error) {
			return a.up(ctx, in, sink)
		},
		ProgramOptions: a.programOptions(),
	})
}

// upBudget is how long `up` may take: --timeout for the platform, and
// --wait-timeout on top when it waits for Backstage too.
func upBudget(o config.Options) time.Duration {
	if o.Wait && !o.SkipHumanitec {
		return o.Timeout + o.WaitTimeout
	}
	return o.Timeout
}

// upPlain runs `up` with plain lines (or JSON) and ends with the summary.
func (a *app) upPlain(ctx context.Context, in *bootstrap.Install) error {
	if a.inputErr != nil {
		// The options are bad (maybe the timeout itself): the pre-flight
		// checks run for their findings alone, then the run stops.
		return a.preflight(ctx, in, a.sink(in.Options))
	}
	ctx, cancel := context.WithTimeout(ctx, upBudget(in.Options))
	defer cancel()
	sum, err := a.up(ctx, in, a.sink(in.Options))
	if err != nil {
		return err
	}
	a.urls = []tui.Link{{Name: "Gitea", URL: sum.GiteaURL(), Login: in.Options.GiteaAdmin}}
	if sum.BackstageURL != "" {
		a.urls = append(a.urls, tui.Link{Name: "Backstage", URL: sum.BackstageURL, Login: "guest"})
	}
	if in.Options.Output == "text" {
		return tui.Print(a.env.Stdout, nil, tui.RenderSummary(*sum, 80))
	}
	return nil
}

// mode is how this run talks to the user (it may ask on a terminal, with no
// --yes, not under Coder or CI, with text output). Decided before any
// Bubble Tea program starts.
func (a *app) mode() tui.Mode {
	return tui.SelectMode(tui.ModeInput{IsTTY: a.env.IsTTY && a.env.StdinTTY, Yes: a.flags.yes, Output: a.flags.output, Getenv: a.env.Getenv})
}

func (a *app) programOptions() []tea.ProgramOption {
	return []tea.ProgramOption{tea.WithInput(a.env.Stdin), tea.WithOutput(a.env.Stdout)}
}

// checkHumanitec is the wizard's live check of org and token: the run's
// own check (user, org, role).
func (a *app) checkHumanitec(o config.Options) func(context.Context, string, secret.Value) error {
	return func(ctx context.Context, org string, token secret.Value) error {
		// Two attempts: a person is waiting, and a network that fails twice
		// is reported as such (the token is kept).
		c, err := humanitec.New(humanitec.Config{BaseURL: o.HumanitecAPIURL, Org: org, Token: token,
			Retry: humanitec.Retry{Attempts: 2}})
		if err != nil {
			return err
		}
		return humanitec.CheckAccess(ctx, c, humanitec.Reporter{})
	}
}

// stepNames lists every step of an up run in order, doctor first.
func (a *app) stepNames(in *bootstrap.Install) []string {
	var names []string
	for _, mk := range []func(*bootstrap.Install) (*bootstrap.Plan, error){bootstrap.DoctorPlan, bootstrap.UpPlan} {
		p, err := mk(in)
		if err != nil {
			continue
		}
		for _, s := range p.Steps() {
			names = append(names, s.Action.Name())
		}
	}
	return names
}

// planPreview is the plan as the wizard shows it: steps an earlier run
// finished are marked as skipped (they are checked again when the run starts).
func (a *app) planPreview(in *bootstrap.Install) []tui.PlanStep {
	prev, _ := state.Read(in.Options.StateDir)
	var out []tui.PlanStep
	for _, n := range a.stepNames(in) {
		out = append(out, tui.PlanStep{Name: n, Skipped: prev != nil && prev.Steps[n].Status == state.StepDone})
	}
	return out
}

// up runs the doctor, then the plan, with events to sink, and returns the
// summary card's content.
func (a *app) up(ctx context.Context, in *bootstrap.Install, sink bootstrap.Sink) (*tui.Summary, error) {
	if err := a.preflight(ctx, in, sink); err != nil {
		return nil, err
	}
	store, err := state.Open(in.Options.StateDir)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	a.started = true
	in.Store = store
	plan, err := bootstrap.UpPlan(in)
	if err != nil {
		return nil, err
	}
	if err := a.runner(in, sink, store).Run(ctx, plan); err != nil {
		return nil, err
	}
	return a.summary(in), nil
}

// preflight runs the doctor's checks and, with Humanitec, the token check
// before the state is opened: if they fail, nothing at all was created,
// not even the state dir. Their findings and bad options found before
// (a.inputErr) are reported together, each once.
func (a *app) preflight(ctx context.Context, in *bootstrap.Install, sink bootstrap.Sink) error {
	doc, err := bootstrap.DoctorPlan(in)
	if err != nil {
		return err
	}
	err = a.runner(in, sink, nil).Run(ctx, doc)
	if interrupted(err) {
		return err
	}
	return joinProblems(a.inputErr, err)
}

func (a *app) summary(in *bootstrap.Install) *tui.Summary {
	o := in.Options
	sum := &tui.Summary{
		InstallID:   in.Store.InstallID(),
		Port:        o.Port,
		Logins:      []tui.Login{{Service: "Gitea", User: o.GiteaAdmin, Password: a.redactor.Redact(o.GiteaAdminPassword.Reveal())}},
		Coder:       o.Coder,
		ForwardPort: o.ForwardPort(),
		Workspace:   a.env.Getenv("CODER_WORKSPACE_NAME"),
		LogPath:     a.logPath,
	}
	if o.SkipHumanitec {
		sum.SkippedHumanitec = true
	} else {
		sum.HumanitecOrg = o.HumanitecOrg
		sum.HumanitecApps = []string{humanitec.AppID(sum.InstallID), humanitec.BackstageAppID(sum.InstallID)}
	}
	sum.BackstageURL = in.Store.Value(bootstrap.ValueBackstageURL)
	return sum
}

func (a *app) runDown(cmd *cobra.Command, _ []string) error {
	in, closeLog, err := a.prepare(cmd, false)
	if err != nil {
		return err
	}
	defer closeLog()
	if _, err := state.Read(in.Options.StateDir); errors.Is(err, os.ErrNotExist) {
		if in.Options.Output == "text" {
			fmt.Fprintf(a.env.Stdout, "Nothing to remove: no install in %s.\n", in.Options.StateDir)
		}
		return nil
	} else if err != nil {
		return err
	}
	if a.flags.forget {
		// Explicit, and it touches nothing outside the state dir: no
		// confirmation, no cluster, no Humanitec.
		store, err := state.Open(in.Options.StateDir)
		if err != nil {
			return err
		}
		defer store.Close()
		in.Store = store
		return a.forget(in, store)
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), in.Options.Timeout)
	defer cancel()
	mode := a.mode()
	if !in.Options.Yes && !mode.Asks() {
		return &config.InputError{Msg: "down removes the install and nothing can ask for confirmation here", Hint: "pass --yes to confirm"}
	}
	store, err := state.Open(in.Options.StateDir)
	if err != nil {
		return err
	}
	defer store.Close()
	in.Store = store
	if err := bootstrap.DownCheck(ctx, in); err != nil {
		return withForgetHint(err)
	}

	removeState := !in.LeavesHumanitec()
	down := func(ctx context.Context, sink bootstrap.Sink) (*tui.Summary, error) {
		a.started = true
		plan, err := bootstrap.DownPlan(in)
		if err != nil {
			return nil, err
		}
		if err := a.runner(in, sink, store).Undo(ctx, plan); err != nil {
			return nil, withForgetHint(err)
		}
		if !removeState {
			return nil, nil
		}
		return nil, store.Remove()
	}
	downPlain := func(done string) error {
		if _, err := down(ctx, a.sink(in.Options)); err != nil {
			return err
		}
		if in.Options.Output == "text" {
			fmt.Fprintln(a.env.Stdout, "\n"+done)
		}
		return nil
	}
	items := teardownItems(ctx, in, a.flags.includeTutorial)
	if !mode.Asks() || in.Options.Yes {
		if in.Options.Output == "text" {
			fmt.Fprint(a.env.Stdout, a.redactor.Redact(tui.TeardownList(items)))
		} else {
			listEvents(a.sink(in.Options), items, a.env.Now())
		}
		if _, removeState, err = applySelection(in, items, checked(items)); err != nil {
			return err
		}
		return downPlain(downDone(in))
	}

	chosen, err := tui.RunTeardown(ctx, tui.TeardownInput{
		Items: items, Accessible: mode == tui.Accessible, In: a.env.Stdin, Out: a.env.Stdout,
		ProgramOptions: a.programOptions(),
	})
	if errors.Is(err, tui.ErrAborted) {
		return fmt.Errorf("%w: %w", context.Canceled, err)
	}
	if err != nil {
		return err
	}
	anything, rm, err := applySelection(in, items, chosen)
	if err != nil {
		return err
	}
	if !anything {
		fmt.Fprintln(a.env.Stdout, "Nothing selected: nothing removed.")
		return nil
	}
	if rm && len(chosen) == 1 {
		// "Local state" alone: forget the install, touch nothing else.
		return a.forget(in, store)
	}
	removeState = rm
	if mode == tui.Accessible {
		return downPlain("Done: what you chose is removed.")
	}
	return tui.RunProgress(ctx, tui.ProgressInput{
		Title: "removing " + in.Options.Name, LogPath: a.logPath, Resume: "pocketidp down", Undo: true,
		Run: down, ProgramOptions: a.programOptions(),
	})
}

// downDone is the last line of a `down` that removed all it was asked to.
func downDone(in *bootstrap.Install) string {
	if in.LeavesHumanitec() {
		return "PocketIDP is down, except this install's Humanitec objects (--skip-humanitec): they stay, and so does " +
			"the state that lists them. Run `pocketidp down` with HUMANITEC_ORG and HUMANITEC_TOKEN set to remove them."
	}
	return "PocketIDP is down: everything this install created is removed."
}

func (a *app) runDoctor(cmd *cobra.Command, _ []string) error {
	o, err := a.options(cmd)
	if err != nil {
		return err
	}
	results := doctor.Run(cmd.Context(), a.env.Host, o)
	if o.Output == "json" {
		if err := writeJSON(a.env.Stdout, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			fmt.Fprintf(a.env.Stdout, "%-4s  %-10s %s\n", r.Status, r.Check, r.Found)
			if r.Fix != "" && r.Status != doctor.OK {
				fmt.Fprintf(a.env.Stdout, "      %-10s fix: %s\n", "", r.Fix)
			}
		}
	}
	var errs []error
	for _, r := range results {
		if err := r.Err(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Check, err))
		}
	}
	return errors.Join(errs...)
}

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
		case c.name == "backstage" && f.Options.SkipHumanitec:
			health, detail = tui.Unknown, "not deployed: Humanitec deploys it, and it was skipped"
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
	return st
}

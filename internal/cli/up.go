package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/doctor"
	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/state"
	"github.com/pocketidp/pocketidp/internal/tui"
)

// runUp is `pocketidp up`: the wizard or headless, the pre-flight, the plan and the
// summary.
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
		return humanitec.CheckAccess(ctx, c)
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
	switch {
	case o.SkipHumanitec:
		sum.SkippedHumanitec = true
	case o.LocalOrchestrator():
		org, _, url, _ := in.LocalOrchestratorAccess()
		sum.HumanitecOrg, sum.OrchestratorURL = org, url+"/"
		sum.HumanitecApps = []string{humanitec.AppID(sum.InstallID), humanitec.BackstageAppID(sum.InstallID)}
	default:
		sum.HumanitecOrg = o.HumanitecOrg
		sum.HumanitecApps = []string{humanitec.AppID(sum.InstallID), humanitec.BackstageAppID(sum.InstallID)}
	}
	sum.BackstageURL = in.Store.Value(bootstrap.ValueBackstageURL)
	return sum
}

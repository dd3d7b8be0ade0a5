package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/gitea"
	"github.com/pocketidp/pocketidp/internal/humanitec"
)

// Backstage step names: with --wait, `up` follows the first build of
// Backstage after gitea/trigger until Backstage answers.
const (
	StepBackstageBuild  = "backstage/build"
	StepBackstageDeploy = "backstage/deploy"
	StepBackstageReady  = "backstage/ready"
)

// ValueBackstageHost is the state key of the route host Humanitec gave
// Backstage; the ingress certificate covers it from then on.
const ValueBackstageHost = "backstage/host"

// BackstageInput tunes how the Backstage steps follow the build.
type BackstageInput struct {
	// Poll is the longest pause between two looks at the run, the
	// deployment or the URL; zero means 5 s. Looks start at a tenth of it
	// and double, so quick answers are seen quickly.
	Poll time.Duration
	// Appear bounds the wait for something that should follow at once: the
	// Actions run after the trigger commit, the deployment after the build,
	// the route host after the deployment. Zero means 3 minutes.
	Appear time.Duration

	once     sync.Once
	deadline time.Time
}

func (b *BackstageInput) poll() time.Duration {
	if b.Poll > 0 {
		return b.Poll
	}
	return 5 * time.Second
}

func (b *BackstageInput) appear() time.Duration {
	if b.Appear > 0 {
		return b.Appear
	}
	return 3 * time.Minute
}

// backstageSteps follow the Backstage build: the Gitea Actions run of the
// trigger commit, then the Humanitec deployment it makes, then Backstage
// answering through the ingress. Only with --wait, and not without
// Humanitec (which deploys Backstage). They change nothing `down` must take
// back, so they have no Undo.
func backstageSteps(in *Install) []Step {
	if !in.Options.Wait || in.Options.SkipHumanitec {
		return nil
	}
	// The three share the --wait-timeout deadline (see follow), which
	// names what it waited for; each step's own bound is a backstop a
	// minute later.
	t := in.Options.WaitTimeout + time.Minute
	return []Step{
		{Action: backstageBuild{in}, Needs: []string{StepGiteaTrigger}, Timeout: t},
		{Action: backstageDeploy{in}, Needs: []string{StepBackstageBuild}, Timeout: t},
		{Action: backstageReady{in}, Needs: []string{StepBackstageDeploy}, Timeout: t},
	}
}

// actionsURL is the Actions page of the Backstage repository, as the user
// opens it.
func (in *Install) actionsURL() string {
	return fmt.Sprintf("https://git.localhost:%d/%s/%s/actions", in.Options.Port, config.DefaultGiteaOrg, gitea.DefaultRepo)
}

// humanitecEnvURL is Backstage's environment in Humanitec's UI.
func (in *Install) humanitecEnvURL() string {
	return fmt.Sprintf("https://app.humanitec.io/orgs/%s/apps/%s/envs/%s",
		in.Options.HumanitecOrg, humanitec.BackstageAppID(in.Store.InstallID()), config.EnvType)
}

// follow looks at something that changes on its own (a CI run, a
// deployment, a URL) until look says it is done, reporting each new state
// as progress. All Backstage steps share one deadline, --wait-timeout from
// the moment the first of them started; reaching it names the last state
// seen and where to keep watching.
func (in *Install) follow(ctx context.Context, sc *StepContext, where string, look func(context.Context) (done bool, state string, err error)) error {
	b := &in.Backstage
	b.once.Do(func() { b.deadline = time.Now().Add(in.Options.WaitTimeout) })
	wctx, cancel := context.WithDeadline(ctx, b.deadline)
	defer cancel()

	delay, last, failures := b.poll()/10, "", 0
	for {
		done, state, err := look(wctx)
		if err != nil && wctx.Err() == nil {
			// A verdict (the build failed) or bad input ends the wait; a
			// read that failed (Gitea restarting, a network blip) is
			// tried again, a few times in a row at most.
			var fe fixError
			failures++
			if errors.As(err, &fe) || config.IsInput(err) || failures >= maxLookFailures {
				return err
			}
			sc.Logger().Warn("looking again after an error", "error", err)
		} else {
			failures = 0
		}
		if err == nil && state != last {
			sc.Logger().Info(state)
			sc.Progress(0, 0, state)
			last = state
		}
		if done && err == nil {
			return nil
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if last == "" {
				last = "nothing reported yet"
			}
			return fixError{
				err: fmt.Errorf("not done within --wait-timeout %s (last seen: %s)", in.Options.WaitTimeout, last),
				fix: "it may still finish: follow it at " + where + ", or run `pocketidp up --wait --wait-timeout 1h`",
			}
		case <-time.After(delay):
		}
		delay = min(delay*2, b.poll())
	}
}

// maxLookFailures is how many failed reads in a row end a follow.
const maxLookFailures = 4

// appearing bounds the wait for something that should show up at once;
// past the bound, gone is the error to report.
type appearing struct {
	by   time.Time
	gone func() error
}

func (in *Install) appearing(gone func() error) *appearing {
	return &appearing{by: time.Now().Add(in.Backstage.appear()), gone: gone}
}

func (a *appearing) check() error {
	if time.Now().After(a.by) {
		return a.gone()
	}
	return nil
}

// --- backstage/build ---

// backstageBuild follows the Gitea Actions run of the trigger commit until
// it succeeded; a failed run names the job and step and links to it.
type backstageBuild struct{ in *Install }

func (backstageBuild) Name() string { return StepBackstageBuild }

func (s backstageBuild) look(ctx context.Context, sc *StepContext) (gitea.Build, bool, error) {
	commit := s.in.Store.Value(gitea.KeyTriggerCommit)
	if commit == "" {
		return gitea.Build{}, false, errors.New("no trigger commit is recorded: gitea/trigger has not run")
	}
	g, err := s.in.giteaSeeder(sc)
	if err != nil {
		return gitea.Build{}, false, err
	}
	return g.Build(ctx, commit)
}

func (s backstageBuild) Done(ctx context.Context, sc *StepContext) (bool, error) {
	b, found, err := s.look(ctx, sc)
	return found && b.Succeeded(), err
}

func (s backstageBuild) Run(ctx context.Context, sc *StepContext) error {
	in := s.in
	commit := in.Store.Value(gitea.KeyTriggerCommit)
	repo := config.DefaultGiteaOrg + "/" + gitea.DefaultRepo
	started := in.appearing(func() error {
		return fixError{
			err: fmt.Errorf("Gitea started no Actions run for commit %s of %s within %s", short(commit), repo, in.Backstage.appear()),
			fix: "check that Actions are on for " + repo + " and that it has a workflow under .gitea/workflows or .github/workflows: " + in.actionsURL(),
		}
	})
	return in.follow(ctx, sc, in.actionsURL(), func(ctx context.Context) (bool, string, error) {
		b, found, err := s.look(ctx, sc)
		switch {
		case err != nil:
			return false, "", err
		case !found:
			return false, "waiting for Gitea to start the Actions run of commit " + short(commit), started.check()
		case b.Finished() && !b.Succeeded():
			return false, "", buildFailed(b)
		}
		return b.Succeeded(), b.Summary(), nil
	})
}

// buildFailed says which job and step of the run failed, and links to it.
func buildFailed(b gitea.Build) error {
	job, step, url, ok := b.Failure()
	if !ok {
		return fixError{
			err: fmt.Errorf("the Backstage build (run #%d) ended %s", b.RunNumber, b.Conclusion),
			fix: "read the run at " + b.URL + ", re-run it there, then run `pocketidp up --wait` again",
		}
	}
	what := "job " + job
	if step != "" {
		what += ", step " + strings.TrimSpace(step)
	}
	return fixError{
		err: fmt.Errorf("the Backstage build (run #%d) failed: %s", b.RunNumber, what),
		fix: "read the log at " + url + ", fix the cause, re-run the job there, then run `pocketidp up --wait` again",
	}
}

func short(sha string) string { return sha[:min(len(sha), 10)] }

// --- backstage/deploy ---

// backstageDeploy follows the Humanitec deployment the build made in
// Backstage's app until it succeeded, then records the route host and URL.
type backstageDeploy struct{ in *Install }

func (backstageDeploy) Name() string { return StepBackstageDeploy }

// look reads the newest deployment of Backstage's app in 5min-local: the
// app belongs to this install, so every deployment in it is one of this
// install's builds.
func (s backstageDeploy) look(ctx context.Context) (humanitec.Deployment, bool, error) {
	o, err := s.in.humanitec()
	if err != nil {
		return humanitec.Deployment{}, false, err
	}
	return o.Deployment(ctx, humanitec.BackstageAppID(s.in.Store.InstallID()), time.Time{})
}

// record keeps the host and URL of a deployment that has a route.
func (s backstageDeploy) record(d humanitec.Deployment) error {
	if err := s.in.Store.SetValue(ValueBackstageHost, d.Host); err != nil {
		return err
	}
	return s.in.Store.SetValue(ValueBackstageURL, humanitec.URL(d.Host, s.in.Options.Port))
}

func (s backstageDeploy) Done(ctx context.Context, _ *StepContext) (bool, error) {
	d, found, err := s.look(ctx)
	if err != nil || !found || !d.Succeeded() || d.Host == "" {
		return false, err
	}
	return true, s.record(d)
}

func (s backstageDeploy) Run(ctx context.Context, sc *StepContext) error {
	in := s.in
	app := humanitec.BackstageAppID(in.Store.InstallID())
	deployed := in.appearing(func() error {
		return fixError{
			err: fmt.Errorf("the build succeeded but no deployment of app %s reached environment %s within %s", app, config.EnvType, in.Backstage.appear()),
			fix: "read the deploy step's log at " + in.actionsURL(),
		}
	})
	var routed *appearing
	return in.follow(ctx, sc, in.humanitecEnvURL(), func(ctx context.Context) (bool, string, error) {
		d, found, err := s.look(ctx)
		switch {
		case err != nil:
			return false, "", err
		case !found:
			return false, "waiting for the build's deployment of " + app + " in " + config.EnvType, deployed.check()
		case d.Finished() && !d.Succeeded():
			msg := fmt.Sprintf("Humanitec deployment %s of %s failed", d.ID, app)
			if len(d.Errors) > 0 {
				msg += ": " + strings.Join(d.Errors, "; ")
			}
			return false, "", fixError{err: errors.New(msg),
				fix: "see " + in.humanitecEnvURL() + "; after the fix, push a commit to " + config.DefaultGiteaOrg + "/" + gitea.DefaultRepo + " and run `pocketidp up --wait` again"}
		case d.Succeeded() && d.Host == "":
			if routed == nil {
				routed = in.appearing(func() error {
					return fixError{
						err: fmt.Errorf("deployment %s of %s succeeded but no dns resource gives it a host", d.ID, app),
						fix: "check that the workload asks for a route and that the definition " + humanitec.Prefix(in.Store.InstallID()) + humanitec.DefDNS + " matches " + config.EnvType + ": " + in.humanitecEnvURL(),
					}
				})
			}
			return false, "deployed; waiting for the route host", routed.check()
		case d.Succeeded():
			return true, "deployed at " + humanitec.URL(d.Host, in.Options.Port), s.record(d)
		}
		return false, d.Summary(), nil
	})
}

// --- backstage/ready ---

// backstageReady makes the ingress certificate cover Backstage's host, then
// waits for Backstage to answer through the ingress, as the learner's
// browser will reach it. It has no Done: it is the check.
type backstageReady struct{ in *Install }

func (backstageReady) Name() string { return StepBackstageReady }

func (s backstageReady) Run(ctx context.Context, sc *StepContext) error {
	in := s.in
	host := in.Store.Value(ValueBackstageHost)
	if host == "" {
		return errors.New("no Backstage host is recorded: backstage/deploy has not run")
	}
	// Humanitec picks the host at the first deployment; the certificate
	// covers it by name (browsers reject a *.localhost wildcard), from the
	// recorded value (certHosts).
	if err := (tlsStep{in}).Run(ctx, sc); err != nil {
		return fmt.Errorf("add %s to the ingress certificate: %w", host, err)
	}
	hc, err := in.ingressClient()
	if err != nil {
		return err
	}
	url := humanitec.URL(host, in.Options.Port)
	ns := humanitec.BackstageAppID(in.Store.InstallID()) + "-" + config.EnvType
	err = in.follow(ctx, sc, url, func(ctx context.Context) (bool, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, "", err
		}
		resp, err := hc.Do(req)
		if err != nil {
			// Not up yet, or the ingress has not loaded the new
			// certificate: both pass.
			return false, "waiting for Backstage at " + url + ": " + shortNetErr(err), nil
		}
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			return false, fmt.Sprintf("waiting for Backstage at %s: HTTP %d", url, resp.StatusCode), nil
		}
		return true, fmt.Sprintf("Backstage answers at %s (HTTP %d)", url, resp.StatusCode), nil
	})
	var fe fixError
	if errors.As(err, &fe) {
		fe.fix = "look at Backstage's pods: kubectl -n " + ns + " get pods, then run `pocketidp up --wait` again"
		return fe
	}
	return err
}

// shortNetErr is the last part of a transport error, which names the cause
// ("connection refused", "certificate is valid for …").
func shortNetErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		return s[i+2:]
	}
	return s
}

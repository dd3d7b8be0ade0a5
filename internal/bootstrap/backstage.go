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
	"github.com/pocketidp/pocketidp/internal/orchestrator"
	pkitls "github.com/pocketidp/pocketidp/internal/tls"
)

// Backstage step names: with --wait, `up` follows the build of Backstage
// after gitea/trigger until Backstage answers.
const (
	StepBackstageBuild  = "backstage/build"
	StepBackstageDeploy = "backstage/deploy"
	StepBackstageReady  = "backstage/ready"
	StepBackstageRoute  = "backstage/route"
)

// State keys of what the Backstage steps learn.
const (
	// ValueBackstageHost is the route host Humanitec gave Backstage; the
	// ingress certificate covers it from then on (certHosts).
	ValueBackstageHost = "backstage/host"
	// valueBuildStarted is when the followed build started (RFC 3339):
	// the deployment to follow is the first one made after it.
	valueBuildStarted = "backstage/build-started"
)

// clockSkew is how far Humanitec's clock may be behind this machine's when
// their times are compared.
const clockSkew = time.Minute

// BackstageInput tunes how the Backstage steps follow the build.
type BackstageInput struct {
	// Poll is the longest pause between two looks at the run, the
	// deployment or the URL; zero means 5 s. Looks start at a tenth of it
	// and double, so quick answers are seen quickly.
	Poll time.Duration
	// Appear bounds the wait for something that should follow at once: the
	// Actions run after the push, the deployment after the build, the
	// route host after the deployment, a certificate the ingress serves.
	// Zero means 3 minutes.
	Appear time.Duration
	// ReadsFailing is how long reads may keep failing (Gitea restarting,
	// Humanitec unavailable) before the wait gives up; zero means 2
	// minutes.
	ReadsFailing time.Duration
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (b BackstageInput) poll() time.Duration         { return orDefault(b.Poll, 5*time.Second) }
func (b BackstageInput) appear() time.Duration       { return orDefault(b.Appear, 3*time.Minute) }
func (b BackstageInput) readsFailing() time.Duration { return orDefault(b.ReadsFailing, 2*time.Minute) }

// waitClock is the --wait-timeout deadline the Backstage steps of one plan
// share: it starts when the first of them does, not when `up` does, so the
// platform's own time does not eat into it.
type waitClock struct {
	timeout time.Duration
	once    sync.Once
	at      time.Time
}

func (w *waitClock) deadline() time.Time {
	w.once.Do(func() { w.at = time.Now().Add(w.timeout) })
	return w.at
}

// backstageSteps follow the build: the Gitea Actions run of the branch
// head, then the Humanitec deployment it made, then Backstage answering
// through the ingress. That is with --wait; without it, one look at
// whether Backstage is deployed yet. Nothing without Humanitec (which
// deploys Backstage). They change nothing `down` must take back, so they
// have no Undo.
func backstageSteps(in *Install) []Step {
	if in.Options.SkipHumanitec {
		return nil
	}
	if !in.Options.Wait {
		return []Step{{Action: backstageRoute{in}, Timeout: time.Minute}}
	}
	clock := &waitClock{timeout: in.Options.WaitTimeout}
	// Each step's own bound is a backstop a minute after the shared
	// deadline, which names what it waited for.
	t := in.Options.WaitTimeout + time.Minute
	return []Step{
		{Action: backstageBuild{in, clock}, Timeout: t},
		{Action: backstageDeploy{in, clock}, Timeout: t},
		{Action: backstageReady{in, clock}, Timeout: t},
	}
}

// ActionsURL is the Actions page of the Backstage repository, as the user
// opens it.
func ActionsURL(port int) string {
	return fmt.Sprintf("%s/%s/%s/actions", config.GiteaURL(port), config.DefaultGiteaOrg, gitea.DefaultRepo)
}

// humanitecEnvURL is Backstage's environment in Humanitec's UI, or the
// local orchestrator's page.
func (in *Install) humanitecEnvURL() string {
	if in.Options.LocalOrchestrator() {
		return orchestrator.URL(in.Options.Port) + "/"
	}
	return fmt.Sprintf("https://app.humanitec.io/orgs/%s/apps/%s/envs/%s",
		in.Options.HumanitecOrg, humanitec.BackstageAppID(in.Store.InstallID()), config.EnvType)
}

// follow looks at something that changes on its own (a CI run, a
// deployment, a URL) until look says it is done, reporting each new state
// as progress. It ends:
//   - on the shared deadline, naming the last state seen and what to do
//     (timeoutFix; empty means watching it at where);
//   - on a verdict look returns (a failed build, bad input);
//   - when reads have kept failing for BackstageInput.ReadsFailing. A
//     failing read alone is no verdict: over a wait of half an hour, Gitea
//     restarts and networks blink.
func (in *Install) follow(ctx context.Context, sc *StepContext, clock *waitClock, where, timeoutFix string, look func(context.Context) (done bool, state string, err error)) error {
	if timeoutFix == "" {
		timeoutFix = "it may still finish: follow it at " + where + ", or run `pocketidp up --wait --wait-timeout 1h`"
	}
	b := in.Backstage
	wctx, cancel := context.WithDeadline(ctx, clock.deadline())
	defer cancel()

	delay, last := b.poll()/10, ""
	var failingSince time.Time
	for {
		done, state, err := look(wctx)
		switch {
		case err != nil && wctx.Err() != nil:
			// The deadline cut the read short: reported below.
		case err != nil && final(err):
			return err
		case err != nil:
			if failingSince.IsZero() {
				failingSince = time.Now()
			}
			if time.Since(failingSince) > b.readsFailing() {
				return fixError{
					err: fmt.Errorf("reads have failed since %s: %w", failingSince.Format(time.TimeOnly), err),
					fix: "check that it answers, then follow it at " + where + " or run `pocketidp up --wait` again",
				}
			}
			sc.Logger().Warn("looking again after an error", "error", err)
		default:
			failingSince = time.Time{}
			if state != last {
				sc.Logger().Info(state)
				sc.Progress(0, 0, state)
				last = state
			}
			if done {
				return nil
			}
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
				err: fmt.Errorf("not done within --wait-timeout %s (last seen: %s)", clock.timeout, last),
				fix: timeoutFix,
			}
		case <-time.After(delay):
		}
		delay = min(delay*2, b.poll())
	}
}

// final reports whether err ends a wait: a verdict with its fix, bad
// input, or an answer from Humanitec that asking again will not change.
// (Humanitec's client has already retried 429 and 5xx.)
func final(err error) bool {
	var (
		verdict fixError
		api     *humanitec.APIError
	)
	switch {
	case errors.As(err, &verdict), config.IsInput(err):
		return true
	case errors.As(err, &api):
		return api.Status >= 400 && api.Status < 500 && api.Status != http.StatusRequestTimeout && api.Status != http.StatusTooManyRequests
	}
	return false
}

// settled is the answer of a Done check that reads something which may
// fail for a moment: such a failure is no verdict, Run follows it with
// patience.
func settled(done bool, err error) (bool, error) {
	if err != nil && !final(err) {
		return false, nil
	}
	return done, err
}

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

// backstageBuild follows the Gitea Actions run of the head of the Backstage
// repository's branch (at first the trigger commit; after a learner's push,
// theirs) until it succeeded; a failed run names the job and step and links
// to it.
type backstageBuild struct {
	in    *Install
	clock *waitClock
}

func (backstageBuild) Name() string { return StepBackstageBuild }

func (s backstageBuild) Done(ctx context.Context, sc *StepContext) (bool, error) {
	g, err := s.in.giteaSeeder()
	if err != nil {
		return false, err
	}
	head, err := g.Head(ctx)
	if err != nil {
		return settled(false, err)
	}
	b, found, err := g.Build(ctx, head)
	if err != nil || !found || !b.Succeeded() {
		return settled(false, err)
	}
	return true, s.record(b)
}

// record keeps when the build started, for the deploy step.
func (s backstageBuild) record(b gitea.Build) error {
	if b.Started.IsZero() {
		return nil
	}
	return s.in.Store.SetValue(valueBuildStarted, b.Started.UTC().Format(time.RFC3339))
}

func (s backstageBuild) Run(ctx context.Context, sc *StepContext) error {
	in := s.in
	// One seeder for the whole wait: its client and connections are
	// reused by every look.
	g, err := in.giteaSeeder()
	if err != nil {
		return err
	}
	head, err := g.Head(ctx)
	if err != nil {
		return err
	}
	repo := config.DefaultGiteaOrg + "/" + gitea.DefaultRepo
	actions := ActionsURL(in.Options.Port)
	started := in.appearing(func() error {
		return fixError{
			err: fmt.Errorf("Gitea started no Actions run for commit %s of %s within %s", short(head), repo, in.Backstage.appear()),
			// A run Gitea dropped (it restarted while handling the push) is
			// not made again; a new push starts one, and this step follows
			// the branch head.
			fix: "check that Actions are on for " + repo + " and that it has a workflow under .gitea/workflows or .github/workflows: " + actions +
				"; then push a commit to its default branch (any change starts the build) and run `pocketidp up --wait` again",
		}
	})
	return in.follow(ctx, sc, s.clock, actions, "", func(ctx context.Context) (bool, string, error) {
		b, found, err := g.Build(ctx, head)
		switch {
		case err != nil:
			return false, "", err
		case !found:
			return false, "waiting for Gitea to start the Actions run of commit " + short(head), started.check()
		case b.Finished() && !b.Succeeded():
			return false, "", buildFailed(b, in.Options.Port)
		case b.Succeeded():
			return true, b.Summary(), s.record(b)
		}
		return false, b.Summary(), nil
	})
}

// buildFailed says why the run did not succeed: which job and step failed,
// with a link to its log, or why nothing ran.
func buildFailed(b gitea.Build, port int) error {
	if b.Conclusion == "skipped" {
		return fixError{
			err: fmt.Errorf("the Backstage build (run #%d) was skipped: the workflow's conditions excluded every job", b.RunNumber),
			fix: fmt.Sprintf("check the workflow's if: conditions against the org's Actions variables (CLOUD_PROVIDER=5min, HUMANITEC_ORG_ID, HUMANITEC_APP_ID) at https://git.localhost:%d/org/%s/settings/actions/variables, then re-run it from %s",
				port, config.DefaultGiteaOrg, b.URL),
		}
	}
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
		fix: "read the log at " + url + ", fix the cause, re-run the job there (or push the fix), then run `pocketidp up --wait` again",
	}
}

func short(sha string) string { return sha[:min(len(sha), 10)] }

// --- backstage/deploy ---

// backstageDeploy follows the Humanitec deployment the build made in
// Backstage's app until it succeeded, then records the route host and URL.
type backstageDeploy struct {
	in    *Install
	clock *waitClock
}

func (backstageDeploy) Name() string { return StepBackstageDeploy }

// look reads the newest deployment of Backstage's app in 5min-local made
// since the followed build started (an older one is a build's before).
func (s backstageDeploy) look(ctx context.Context) (humanitec.Deployment, bool, error) {
	o, err := s.in.humanitec()
	if err != nil {
		return humanitec.Deployment{}, false, err
	}
	var since time.Time
	if t, err := time.Parse(time.RFC3339, s.in.Store.Value(valueBuildStarted)); err == nil {
		since = t.Add(-clockSkew)
	}
	return o.Deployment(ctx, humanitec.BackstageAppID(s.in.Store.InstallID()), since)
}

// record keeps the host and URL of a deployment that has a route, once the
// host is one the certificate can name.
func (s backstageDeploy) record(d humanitec.Deployment) error {
	if _, err := pkitls.Hosts(s.in.Options.Name, d.Host); err != nil {
		return fixError{
			err: fmt.Errorf("deployment %s gave Backstage the host %q, which no certificate can name: %w", d.ID, d.Host, err),
			fix: "check the template of the dns definition " + humanitec.Prefix(s.in.Store.InstallID()) + humanitec.DefDNS + ": " + s.in.humanitecEnvURL(),
		}
	}
	if err := s.in.Store.SetValue(ValueBackstageHost, d.Host); err != nil {
		return err
	}
	return s.in.Store.SetValue(ValueBackstageURL, humanitec.URL(d.Host, s.in.Options.Port))
}

func (s backstageDeploy) Done(ctx context.Context, _ *StepContext) (bool, error) {
	d, found, err := s.look(ctx)
	if err != nil || !found || !d.Succeeded() || d.Host == "" {
		return settled(false, err)
	}
	return true, s.record(d)
}

func (s backstageDeploy) Run(ctx context.Context, sc *StepContext) error {
	in := s.in
	app := humanitec.BackstageAppID(in.Store.InstallID())
	deployed := in.appearing(func() error {
		return fixError{
			err: fmt.Errorf("the build succeeded but no deployment of app %s reached environment %s within %s", app, config.EnvType, in.Backstage.appear()),
			fix: "read the deploy step's log at " + ActionsURL(in.Options.Port),
		}
	})
	var routed *appearing
	return in.follow(ctx, sc, s.clock, in.humanitecEnvURL(), "", func(ctx context.Context) (bool, string, error) {
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
type backstageReady struct {
	in    *Install
	clock *waitClock
}

func (backstageReady) Name() string { return StepBackstageReady }

func (s backstageReady) Run(ctx context.Context, sc *StepContext) error {
	in := s.in
	host := in.Store.Value(ValueBackstageHost)
	if host == "" {
		return errors.New("no Backstage host is recorded: backstage/deploy has not run")
	}
	// Humanitec picks the host at the first deployment; the certificate
	// names it (browsers reject a *.localhost wildcard): certHosts adds
	// the recorded host.
	if err := (tlsStep{in}).Run(ctx, sc); err != nil {
		return fmt.Errorf("add %s to the ingress certificate: %w", host, err)
	}
	hc, err := in.IngressClient()
	if err != nil {
		return err
	}
	url := humanitec.URL(host, in.Options.Port)
	ns := humanitec.Namespace(humanitec.BackstageAppID(in.Store.InstallID()), config.EnvType)
	kubectl := "kubectl -n " + ns + " get pods"
	if acc, err := in.Kube(ctx); err == nil && acc.Context != "" {
		kubectl = "kubectl --context " + acc.Context + " -n " + ns + " get pods"
	}
	// The ingress reloads the certificate within seconds; a certificate it
	// still refuses after that will not change by waiting.
	var certified *appearing
	return in.follow(ctx, sc, s.clock, url, "see why Backstage does not answer: "+kubectl+", then run `pocketidp up --wait` again", func(ctx context.Context) (bool, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, "", err
		}
		resp, err := hc.Do(req)
		if err != nil {
			if pkitls.IsCertificateError(err) {
				if certified == nil {
					certified = in.appearing(func() error {
						return fixError{
							err: fmt.Errorf("the ingress at %s serves a certificate PocketIDP's CA does not vouch for %s: %w", url, host, err),
							fix: "check that Traefik serves the Secret " + TLSSecret.String() + " as its default certificate, then run `pocketidp up --wait` again",
						}
					})
				}
				return false, "waiting for the ingress to serve the new certificate", certified.check()
			}
			// Not up yet: Backstage starts slowly.
			return false, "waiting for Backstage at " + url + ": " + NetCause(err), nil
		}
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			return false, fmt.Sprintf("waiting for Backstage at %s: HTTP %d", url, resp.StatusCode), nil
		}
		return true, fmt.Sprintf("Backstage answers at %s (HTTP %d)", url, resp.StatusCode), nil
	})
}

// --- backstage/route (without --wait) ---

// backstageRoute asks Humanitec once, without waiting, whether Backstage is
// deployed. When it is, the ingress certificate names its host (browsers
// reject a *.localhost wildcard, so without this the tutorial's Backstage
// URL fails the certificate check) and the summary shows its URL. The first
// build takes 10-15 minutes, so the first `up` usually finds nothing yet;
// the next `up` does.
type backstageRoute struct{ in *Install }

func (backstageRoute) Name() string { return StepBackstageRoute }

// Done when the host is recorded and the certificate names it.
func (s backstageRoute) Done(ctx context.Context, sc *StepContext) (bool, error) {
	if s.in.Store.Value(ValueBackstageHost) == "" {
		return false, nil
	}
	return tlsStep{s.in}.Done(ctx, sc)
}

func (s backstageRoute) Run(ctx context.Context, sc *StepContext) error {
	in := s.in
	d, found, err := backstageDeploy{in: in}.look(ctx)
	switch {
	case err != nil && final(err):
		return err
	case err != nil:
		// The platform is up; this look is a bonus the next run repeats.
		sc.Logger().Warn("could not ask Humanitec whether Backstage is deployed: " + err.Error())
		return nil
	case !found || !d.Succeeded() || d.Host == "":
		sc.Logger().Info("Backstage is not deployed yet (its first build takes 10-15 minutes): follow it at " + ActionsURL(in.Options.Port) +
			"; run `pocketidp up` again when it is done to add its URL to the certificate, or `pocketidp up --wait` to wait for it")
		return nil
	}
	if err := (backstageDeploy{in: in}).record(d); err != nil {
		return err
	}
	if err := (tlsStep{in}).Run(ctx, sc); err != nil {
		return fmt.Errorf("add %s to the ingress certificate: %w", d.Host, err)
	}
	sc.Logger().Info("Backstage is deployed at " + humanitec.URL(d.Host, in.Options.Port) + "; the ingress certificate names it")
	return nil
}

// NetCause is the last part of a transport error, which names the cause
// ("connection refused", "EOF") without the layers of URL and operation.
func NetCause(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		return s[i+2:]
	}
	return s
}

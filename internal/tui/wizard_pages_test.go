package tui

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/doctor"
	"github.com/pocketidp/pocketidp/internal/secret"
)

// driver drives a model through its Update directly, as Bubble Tea would
// but on the test's goroutine: it runs the commands Update returns and
// feeds their messages back until none is left. Commands that wait for a
// clock (cursor blinks, ticks) are not run, so nothing here waits.
type driver struct {
	t      *testing.T
	update func(tea.Msg) (tea.Cmd, report)
	view   func() string
	// report is the first report of the page; quit is set on tea.Quit.
	report report
	quit   bool
}

// drivePage sizes p, starts it, and returns its driver.
func drivePage(t *testing.T, p page, width, height int) *driver {
	t.Helper()
	d := &driver{t: t, update: p.Update, view: func() string { return plain(p.View().String()) }}
	d.send(tea.WindowSizeMsg{Width: width, Height: height})
	d.run(p.Init())
	return d
}

// driveWizard drives the whole wizard model.
func driveWizard(t *testing.T, m *wizardModel, width, height int) *driver {
	t.Helper()
	d := &driver{t: t,
		update: func(msg tea.Msg) (tea.Cmd, report) { _, cmd := m.Update(msg); return cmd, nil },
		view:   func() string { return plain(m.View().Content) },
	}
	d.run(m.Init())
	d.send(tea.WindowSizeMsg{Width: width, Height: height})
	return d
}

// send passes msg to Update and runs what follows from it.
func (d *driver) send(msg tea.Msg) {
	d.t.Helper()
	if d.report != nil || d.quit {
		d.t.Fatalf("message %T after the end (report %#v)", msg, d.report)
	}
	cmd, r := d.update(msg)
	if r != nil {
		d.report = r
		return
	}
	d.run(cmd)
}

func (d *driver) run(cmd tea.Cmd) {
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 && d.report == nil && !d.quit {
		cmd, queue = queue[0], queue[1:]
		if cmd == nil || clocked(cmd) {
			continue
		}
		msg := cmd()
		if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeFor[tea.Cmd]() {
			// tea.Batch and tea.Sequence
			for i := range v.Len() {
				queue = append(queue, v.Index(i).Interface().(tea.Cmd))
			}
			continue
		}
		if _, ok := msg.(tea.QuitMsg); ok {
			d.quit = true
			return
		}
		if msg == nil {
			continue
		}
		d.send(msg)
	}
}

// clocked reports whether cmd waits for a clock.
func clocked(cmd tea.Cmd) bool {
	name := runtime.FuncForPC(reflect.ValueOf(cmd).Pointer()).Name()
	for _, c := range []string{"cursor.(*Model).Blink", "bubbletea/v2.Tick", "bubbletea/v2.Every", "spinner.Model.tick"} {
		if strings.Contains(name, c) {
			return true
		}
	}
	return false
}

func (d *driver) keys(keys ...string) *driver {
	d.t.Helper()
	for _, k := range keys {
		d.send(keyPress(k))
	}
	return d
}

func (d *driver) typ(s string) *driver {
	d.t.Helper()
	for _, r := range s {
		d.send(keyPress(string(r)))
	}
	return d
}

// sees fails unless the view holds every want.
func (d *driver) sees(want ...string) string {
	d.t.Helper()
	v := d.view()
	for _, w := range want {
		if !strings.Contains(v, w) {
			d.t.Fatalf("the view lacks %q:\n%s", w, v)
		}
	}
	return v
}

func testEnv(in WizardInput) *wizardEnv {
	return &wizardEnv{ctx: context.Background(), in: in, redactor: &secret.Redactor{}}
}

func TestWelcomePage(t *testing.T) {
	o := config.Defaults()
	d := drivePage(t, newWelcomePage(o), 80, 24)
	d.sees("A small Internal Developer Platform", "kind cluster 5min-idp", "enter start")
	d.keys("x", "tab")
	if d.report != nil {
		t.Fatalf("other keys end the page: %#v", d.report)
	}
	d.keys("enter")
	if _, ok := d.report.(startReport); !ok {
		t.Errorf("enter reports %#v, want startReport", d.report)
	}
	for _, k := range []string{"esc", "q"} {
		d := drivePage(t, newWelcomePage(o), 80, 24).keys(k)
		if r, ok := d.report.(abortReport); !ok || r.err != nil {
			t.Errorf("%s reports %#v, want abortReport", k, d.report)
		}
	}
}

func TestCredentialsPage(t *testing.T) {
	in := testWizardInput(&fakeHumanitec{})
	d := drivePage(t, newCredentialsPage(testEnv(in), in.Options, nil), 80, 24)
	d.sees("┃ Humanitec org id", "Leave both empty")

	// A malformed org id is refused by the same rule as the flag.
	d.typ("Acme Corp").keys("enter")
	d.sees("is not valid", "┃ Humanitec org id")
	for range len("Corp") + 1 {
		d.keys("backspace")
	}
	d.keys("backspace", "backspace", "backspace", "backspace")
	d.typ("acme").keys("enter")
	d.sees("┃ Humanitec API token")
	d.typ("good-token")
	if v := d.sees("**********"); strings.Contains(v, "good-token") {
		t.Fatalf("the token is shown:\n%s", v)
	}
	d.keys("enter")
	r, ok := d.report.(credentialsReport)
	if !ok {
		t.Fatalf("report %#v, want credentialsReport", d.report)
	}
	if !r.check || r.opts.HumanitecOrg != "acme" || r.opts.HumanitecToken.Reveal() != "good-token" {
		t.Errorf("report: check %v org %q token %q", r.check, r.opts.HumanitecOrg, r.opts.HumanitecToken.Reveal())
	}
}

func TestCredentialsPageBothEmptyIsTheLocalOrchestrator(t *testing.T) {
	in := testWizardInput(&fakeHumanitec{})
	in.Options.HumanitecToken = secret.New("from-env")
	d := drivePage(t, newCredentialsPage(testEnv(in), in.Options, nil), 80, 24)
	d.keys("enter", "enter")
	r, ok := d.report.(credentialsReport)
	if !ok || r.check || r.opts.HumanitecOrg != "" || !r.opts.HumanitecToken.Empty() || !r.opts.LocalOrchestrator() {
		t.Errorf("report %#v, want the local orchestrator without a check", d.report)
	}
}

func TestCredentialsPageAfterAFailedCheck(t *testing.T) {
	in := testWizardInput(&fakeHumanitec{})
	in.Options.HumanitecOrg = "acme"
	env := testEnv(in)
	env.redactor.Add(secret.New("bad-token"))
	p := newCredentialsPage(env, in.Options, &config.InputError{Msg: "401 Unauthorized: token bad-token is not valid"})
	p.focusToken = true
	d := drivePage(t, p, 80, 24)
	v := d.sees("did not accept", "401 Unauthorized", "┃ Humanitec API token")
	if strings.Contains(v, "bad-token") {
		t.Errorf("the echoed token is shown:\n%s", v)
	}
	// No answer is not a refusal: the page says the token is kept.
	p = newCredentialsPage(env, in.Options, errors.New("no answer"))
	drivePage(t, p, 80, 24).sees("Could not check them with Humanitec", "The token is kept")
}

func TestWaitPage(t *testing.T) {
	p := newWaitPage(1, "Checking org acme…", false, func() report { return checkedReport{} })
	if v := plain(p.View().String()); !strings.Contains(v, "Checking org acme…") || p.View().step != 1 {
		t.Errorf("view %q step %d", v, p.View().step)
	}
	if cmd, r := p.Update(keyPress("enter")); cmd != nil || r != nil {
		t.Error("a key ends the wait")
	}
	d := drivePage(t, p, 80, 24)
	if _, ok := d.report.(checkedReport); !ok {
		t.Errorf("report %#v, want the work's", d.report)
	}
}

func TestSettingsPage(t *testing.T) {
	in := testWizardInput(nil)
	env := testEnv(in)
	d := drivePage(t, newSettingsPage(env, in.Options, true), 80, 24)
	d.sees("Settings", "new kind cluster 5min-idp", "Keep", "Change")
	d.keys("enter")
	r, ok := d.report.(settingsReport)
	if !ok || r.err != nil || r.needCreds || r.opts.Name != config.DefaultName || r.opts.Port != config.DefaultPort {
		t.Errorf("keep reports %#v, want the settings as they are", d.report)
	}
	d = drivePage(t, newSettingsPage(env, in.Options, true), 80, 24).keys("n")
	if _, ok := d.report.(changeSettingsReport); !ok {
		t.Errorf("n reports %#v, want changeSettingsReport", d.report)
	}
}

// editFields are the edit page's fields after the name, in order.
var editFields = []string{"HTTPS port", "Listen address", "Existing cluster: kubeconfig", "Existing cluster: context", "Trust the local CA?", "Skip the orchestrator?", "Wait for Backstage?"}

func TestSettingsEditPage(t *testing.T) {
	in := testWizardInput(nil)
	in.Options.SkipHumanitec = true
	d := drivePage(t, newSettingsEditPage(testEnv(in), in.Options, nil), 80, 40)
	d.sees("┃ Cluster name")
	d.keys("enter").sees("┃ HTTPS port")
	d.keys("backspace", "backspace", "backspace", "backspace").typ("9443")
	d.sees("> 9443")
	for _, next := range editFields[1:] {
		d.keys("enter").sees("┃ " + next)
	}
	d.keys("enter")
	r, ok := d.report.(settingsReport)
	if !ok || r.err != nil || r.needCreds || r.opts.Port != 9443 || !r.opts.SkipHumanitec {
		t.Errorf("report %#v, want port 9443, Humanitec still skipped", d.report)
	}
}

func TestSettingsEditPageOrchestratorBackOn(t *testing.T) {
	in := testWizardInput(nil)
	in.Options.SkipHumanitec = true
	d := drivePage(t, newSettingsEditPage(testEnv(in), in.Options, nil), 80, 40)
	for _, next := range editFields {
		d.keys("enter").sees("┃ " + next)
	}
	d.sees("┃ Wait for Backstage?")
	d.keys("shift+tab").sees("┃ Skip the orchestrator?")
	d.keys("n") // "No", and on to the next field
	d.sees("┃ Wait for Backstage?")
	d.keys("enter")
	r, ok := d.report.(settingsReport)
	if !ok || !r.needCreds || r.opts.SkipHumanitec {
		t.Errorf("report %#v, want needCreds", d.report)
	}
}

func TestSettingsEditPageShowsWhyNotValid(t *testing.T) {
	in := testWizardInput(nil)
	d := drivePage(t, newSettingsEditPage(testEnv(in), in.Options, errors.New("port 80 is below 1024")), 80, 40)
	d.sees(iconFailed+" port 80 is below 1024", "┃ Cluster name")

	// Settings the rules refuse come back unchanged, with the reason.
	o := in.Options
	o.HumanitecOrg, o.HumanitecToken = "Acme Corp", secret.New("t")
	v := loadSettings(o)
	if r := v.apply(o); r.err == nil || r.opts.HumanitecOrg != "Acme Corp" {
		t.Errorf("apply of bad settings: %#v", r)
	}
}

func TestReviewPage(t *testing.T) {
	in := testWizardInput(nil)
	env := testEnv(in)
	d := drivePage(t, newReviewPage(env, in.Options, testDoctor, testPlan), 80, 40)
	d.sees("Settings", "Machine", "docker 28.1 answers", "Plan  8 steps", "already in place, skipped: state, ca", "Create the platform?")
	d.keys("enter")
	if r, ok := d.report.(reviewReport); !ok || r.choice != choiceCreate {
		t.Errorf("enter reports %#v, want create", d.report)
	}
	d = drivePage(t, newReviewPage(env, in.Options, testDoctor, testPlan), 80, 40).keys("n")
	if r, ok := d.report.(reviewReport); !ok || r.choice != choiceChange {
		t.Errorf("n reports %#v, want change", d.report)
	}
}

func TestReviewPageMachineNotReady(t *testing.T) {
	failed := []doctor.Result{longFailure}
	in := testWizardInput(nil)
	// Without Refresh the machine cannot be checked again: quit only.
	d := drivePage(t, newReviewPage(testEnv(in), in.Options, failed, testPlan), 80, 40)
	d.sees("The machine is not ready.", "sudo usermod -aG docker", "Quit")
	d.keys("enter")
	if r, ok := d.report.(reviewReport); !ok || r.choice != choiceQuit || !config.IsInput(r.err) {
		t.Errorf("enter reports %#v, want quit with the doctor's input error", d.report)
	}
	// With Refresh: change the settings, or quit.
	in.Refresh = func(context.Context, config.Options) ([]doctor.Result, []PlanStep) { return nil, nil }
	d = drivePage(t, newReviewPage(testEnv(in), in.Options, failed, testPlan), 80, 40)
	d.sees("Change settings", "Quit")
	d.keys("enter")
	if r, ok := d.report.(reviewReport); !ok || r.choice != choiceChange {
		t.Errorf("enter reports %#v, want change", d.report)
	}
}

// TestWizardModelPages drives the whole wizard through its Update: the
// pages follow each other on their reports, the stepper follows them, and
// the end frame says what was chosen.
func TestWizardModelPages(t *testing.T) {
	h := &fakeHumanitec{}
	m := newWizardModel(context.Background(), testWizardInput(h), false)
	d := driveWizard(t, m, 80, 32)
	d.sees("● Welcome", "A small Internal Developer Platform")
	d.keys("enter").sees("● Humanitec", "┃ Humanitec org id")
	d.typ("acme").keys("enter").typ("bad-token").keys("enter")
	d.sees("● Humanitec", "did not accept", "┃ Humanitec API token")
	d.typ("good-token").keys("enter")
	d.sees("● Settings", "Keep")
	d.keys("enter").sees("● Review", "Create the platform?")
	d.keys("enter")
	if !d.quit {
		t.Fatal("create does not end the wizard")
	}
	d.sees("kind cluster 5min-idp on 127.0.0.1:8443 · Humanitec org acme")
	o, err := m.result()
	if err != nil || o.HumanitecOrg != "acme" || o.HumanitecToken.Reveal() != "good-token" {
		t.Errorf("result %v: org %q token %q", err, o.HumanitecOrg, o.HumanitecToken.Reveal())
	}
	if got := h.Calls(); len(got) != 2 {
		t.Errorf("checks %v, want bad then good", got)
	}
}

func TestWizardModelCtrlCOnAnyPage(t *testing.T) {
	for _, keys := range [][]string{{}, {"enter"}} {
		m := newWizardModel(context.Background(), testWizardInput(&fakeHumanitec{}), false)
		d := driveWizard(t, m, 80, 24)
		d.keys(keys...)
		d.keys("ctrl+c")
		if !d.quit {
			t.Fatalf("ctrl+c after %v does not end the wizard", keys)
		}
		d.sees("Cancelled: nothing was created.")
		if _, err := m.result(); !errors.Is(err, ErrAborted) {
			t.Errorf("result after %v: %v, want ErrAborted", keys, err)
		}
	}
}

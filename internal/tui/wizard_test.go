package tui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	tea "charm.land/bubbletea/v2"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/doctor"
	"github.com/pocketidp/pocketidp/internal/secret"
)

// fakeHumanitec stands in for the orchestrator's check call: it accepts
// one token and records what it was asked.
type fakeHumanitec struct {
	mu    sync.Mutex
	calls []string
}

// errUnauthorized is a refusal, as the run's check reports one: bad input.
var errUnauthorized = &config.InputError{Msg: "401 Unauthorized: the token is invalid or expired", Hint: "set a valid token"}

func (f *fakeHumanitec) check(_ context.Context, org string, token secret.Value) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, org+"/"+token.Reveal())
	if token.Reveal() != "good-token" {
		return errUnauthorized
	}
	return nil
}

func (f *fakeHumanitec) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

var testDoctor = []doctor.Result{
	{Check: "engine", Status: doctor.OK, Found: "docker 28.1 answers"},
	{Check: "port", Status: doctor.OK, Found: "127.0.0.1:8443 is free"},
	{Check: "memory", Status: doctor.Warn, Found: "6 GiB for the engine", Fix: "give the engine 8 GiB for Backstage builds"},
}

var testPlan = []PlanStep{
	{Name: "state", Skipped: true}, {Name: "ca", Skipped: true}, {Name: "cluster"}, {Name: "ingress"},
	{Name: "gitea/chart"}, {Name: "gitea/seed"}, {Name: "humanitec/apps"}, {Name: "backstage/trigger"},
}

func testWizardInput(h *fakeHumanitec) WizardInput {
	o := config.Defaults()
	in := WizardInput{Options: o, Doctor: testDoctor, Plan: testPlan}
	if h != nil {
		in.Check = h.check
	}
	return in
}

func TestWizardHappyPath(t *testing.T) {
	h := &fakeHumanitec{}
	s := start(t, newWizardModel(context.Background(), testWizardInput(h), false), 80, 32)
	s.keep("welcome", s.waitText("A small Internal Developer Platform"))

	s.key("enter")
	s.waitFocus("Humanitec org id")
	s.tm.Type("acme")
	s.key("enter")
	s.waitFocus("Humanitec API token")
	s.tm.Type("good-token")
	creds := s.waitText("**********")
	s.keep("credentials typed", creds)
	if strings.Contains(creds, "good-token") {
		t.Fatal("the token is shown in clear text")
	}
	s.key("enter")

	s.keep("settings", s.waitText("Keep"))
	s.key("enter")
	s.keep("review", s.waitText("Create the platform?"))
	s.key("enter")

	final := s.tm.FinalModel(t, teatestTimeout).(*wizardModel)
	s.keep("final", plain(final.View().Content))
	s.golden()

	o, err := final.result()
	if err != nil {
		t.Fatalf("result: %v", err)
	}
	if o.HumanitecOrg != "acme" || o.HumanitecToken.Reveal() != "good-token" || o.SkipHumanitec {
		t.Errorf("options = org %q token %q skip %v, want acme, good-token, false", o.HumanitecOrg, o.HumanitecToken.Reveal(), o.SkipHumanitec)
	}
	if o.Name != config.DefaultName || o.Port != config.DefaultPort {
		t.Errorf("kept settings changed: name %q port %d", o.Name, o.Port)
	}
	if got := h.Calls(); len(got) != 1 || got[0] != "acme/good-token" {
		t.Errorf("check calls = %v, want one for acme", got)
	}
}

func TestWizardRejectsBadToken(t *testing.T) {
	h := &fakeHumanitec{}
	s := start(t, newWizardModel(context.Background(), testWizardInput(h), false), 80, 32)
	s.waitText("A small Internal Developer Platform")
	s.key("enter")
	s.waitFocus("Humanitec org id")

	// A malformed org id is refused by the same rule as the flag.
	s.tm.Type("Acme Corp")
	s.key("enter")
	s.keep("malformed org", s.waitText("is not valid"))
	for range len("Acme Corp") {
		s.key("backspace")
	}
	s.tm.Type("acme")
	s.waitText("> acme")
	s.key("enter")
	s.waitFocus("Humanitec API token")

	s.tm.Type("bad-token")
	s.key("enter")
	s.waitText("did not accept")
	refused := s.waitFocus("Humanitec API token")
	s.keep("refused by Humanitec", refused)
	if !strings.Contains(refused, "401 Unauthorized") {
		t.Errorf("the check's answer is not shown:\n%s", refused)
	}

	// The token field has the focus: typing goes straight into it.
	s.tm.Type("good-token")
	s.waitText("**********")
	s.key("enter")
	s.waitText("Keep")

	if got := h.Calls(); len(got) != 2 || got[0] != "acme/bad-token" || got[1] != "acme/good-token" {
		t.Errorf("check calls = %v, want bad then good", got)
	}
	s.golden()
}

func TestWizardChangeSettingsAndDoctorFailure(t *testing.T) {
	in := testWizardInput(&fakeHumanitec{})
	in.Options.SkipHumanitec = true
	var refreshed []config.Options
	in.Refresh = func(_ context.Context, o config.Options) ([]doctor.Result, []PlanStep) {
		refreshed = append(refreshed, o)
		return []doctor.Result{{Check: "port", Status: doctor.Fail, Found: "127.0.0.1:9443 is in use by another program", Fix: "pass --port with a free port"}}, testPlan
	}
	s := start(t, newWizardModel(context.Background(), in, false), 80, 40)
	s.waitText("A small Internal Developer Platform")
	s.key("enter")
	s.waitText("Keep")
	s.key("n") // "Change"
	s.waitFocus("Cluster name")
	s.key("enter") // name unchanged
	s.waitFocus("HTTPS port")
	for range len("8443") {
		s.key("backspace")
	}
	s.tm.Type("9443")
	s.keep("changing the port", s.waitText("> 9443"))
	for _, next := range []string{"Listen address", "Existing cluster: kubeconfig", "Existing cluster: context", "Trust the local CA?", "Skip the orchestrator?", "Wait for Backstage?"} {
		s.key("enter")
		s.waitFocus(next)
	}
	s.key("enter")
	s.keep("doctor failed", s.waitText("The machine is not ready"))
	s.key("n") // Quit
	final := s.tm.FinalModel(t, teatestTimeout).(*wizardModel)
	s.golden()

	_, err := final.result()
	if !config.IsInput(err) || !strings.Contains(err.Error(), "9443 is in use") {
		t.Errorf("result error = %v, want the doctor's input error", err)
	}
	if len(refreshed) != 1 || refreshed[0].Port != 9443 {
		t.Errorf("Refresh saw %v, want one call with port 9443", refreshed)
	}
}

// TestWizardWaitForBackstage: the wizard can turn --wait on. The settings
// say so, the plan is asked again (its Backstage steps depend on it), and
// the result carries it.
func TestWizardWaitForBackstage(t *testing.T) {
	in := testWizardInput(&fakeHumanitec{})
	in.Options.HumanitecOrg, in.Options.HumanitecToken = "acme", secret.New("good-token")
	in.Check = nil
	var refreshed []config.Options
	in.Refresh = func(_ context.Context, o config.Options) ([]doctor.Result, []PlanStep) {
		refreshed = append(refreshed, o)
		return testDoctor, append(testPlan, PlanStep{Name: "backstage/ready"})
	}
	s := start(t, newWizardModel(context.Background(), in, false), 80, 40)
	s.waitText("A small Internal Developer Platform")
	s.key("enter")
	s.waitFocus("Humanitec org id")
	s.key("enter")
	s.waitFocus("Humanitec API token")
	s.key("enter") // the token from HUMANITEC_TOKEN
	s.keep("settings", s.waitText("no, up ends when the platform is up"))
	s.key("n") // "Change"
	s.waitFocus("Cluster name")
	for _, next := range []string{"HTTPS port", "Listen address", "Existing cluster: kubeconfig", "Existing cluster: context", "Trust the local CA?", "Skip the orchestrator?", "Wait for Backstage?"} {
		s.key("enter")
		s.waitFocus(next)
	}
	s.key("y")
	review := s.waitText("Create the platform?")
	s.keep("review", review)
	if !strings.Contains(review, "backstage/ready") {
		t.Errorf("the review does not show the refreshed plan:\n%s", review)
	}
	s.key("enter")
	final := s.tm.FinalModel(t, teatestTimeout).(*wizardModel)
	o, err := final.result()
	if err != nil {
		t.Fatalf("result: %v", err)
	}
	if !o.Wait || o.SkipHumanitec {
		t.Errorf("options: wait %v skip %v, want wait and Humanitec", o.Wait, o.SkipHumanitec)
	}
	if len(refreshed) != 1 || !refreshed[0].Wait {
		t.Errorf("Refresh saw %d calls (%v), want one with Wait", len(refreshed), refreshed)
	}
	if text := settingsText(o); !strings.Contains(text, "for Backstage too, up to 40m00s") {
		t.Errorf("settings after the change:\n%s", text)
	}
}

func TestWizardCtrlCAborts(t *testing.T) {
	s := start(t, newWizardModel(context.Background(), testWizardInput(&fakeHumanitec{}), false), 80, 24)
	s.waitText("A small Internal Developer Platform")
	s.key("enter")
	s.waitText("Humanitec org id")
	s.key("ctrl+c")
	final := s.tm.FinalModel(t, teatestTimeout).(*wizardModel)
	if _, err := final.result(); !errors.Is(err, ErrAborted) {
		t.Errorf("result error = %v, want ErrAborted", err)
	}
	if f := plain(final.View().Content); !strings.Contains(f, "nothing was created") {
		t.Errorf("last frame %q does not say nothing was created", f)
	}
}

// TestWizardAccessible answers the accessible prompts line by line, as a
// screen reader user would type them.
func TestWizardAccessible(t *testing.T) {
	in := testWizardInput(&fakeHumanitec{})
	in.Options.SkipHumanitec = true
	in.Accessible = true
	// Change settings: name "lab", port 9443, the rest as it is; then create.
	in.In = iotest.OneByteReader(strings.NewReader("n\nlab\n9443\n\n\n\n\n\n\ny\n"))
	var out bytes.Buffer
	in.Out = &out
	o, err := RunWizard(context.Background(), in)
	if err != nil {
		t.Fatalf("RunWizard: %v\n%s", err, out.String())
	}
	if o.Name != "lab" || o.Port != 9443 || !o.SkipHumanitec {
		t.Errorf("options: name %q port %d skip %v", o.Name, o.Port, o.SkipHumanitec)
	}
	text := out.String()
	if strings.Contains(text, "\x1b") {
		t.Errorf("accessible output has escape codes:\n%q", text)
	}
	for _, want := range []string{"A small Internal Developer Platform", "Plan", "Create the platform?"} {
		if !strings.Contains(text, want) {
			t.Errorf("accessible output lacks %q:\n%s", want, text)
		}
	}
}

func TestWizardResize(t *testing.T) {
	s := start(t, newWizardModel(context.Background(), testWizardInput(&fakeHumanitec{}), false), 80, 24)
	s.waitText("A small Internal Developer Platform")
	s.key("enter")
	s.waitFocus("Humanitec org id")
	s.tm.Type("acme")
	s.waitText("> acme")

	s.tm.Send(tea.WindowSizeMsg{Width: 50, Height: 20})
	narrow := s.waitFor("the narrow layout", func(f string) bool { return maxLineWidth(f) <= 50 })
	s.keep("50x20", narrow)
	if !strings.Contains(narrow, "> acme") {
		t.Error("the typed org was lost in the resize")
	}
	s.tm.Send(tea.WindowSizeMsg{Width: 120, Height: 40})
	s.keep("120x40", s.waitFor("the wide layout", func(f string) bool { return maxLineWidth(f) > 50 }))
	s.golden()
}

// humanitecDoctor is a Refresh that answers as the real doctor does for the
// options it is given: the humanitec check reads org, token and skip.
func humanitecDoctor(calls *int) func(context.Context, config.Options) ([]doctor.Result, []PlanStep) {
	return func(ctx context.Context, o config.Options) ([]doctor.Result, []PlanStep) {
		*calls++
		return append(slices.Clone(testDoctor[:2]), doctor.CheckHumanitec(ctx, nil, o)), testPlan
	}
}

// TestWizardReviewIsFresh: the review shows the checks for the options as
// they are when it opens, not as they were when the wizard started (issue
// 14, point 1): credentials typed in the wizard, and Humanitec skipped by
// leaving both empty (the local orchestrator).
func TestWizardReviewIsFresh(t *testing.T) {
	for _, tt := range []struct {
		name, org, token string
		want             string
	}{
		{"credentials typed", "acme", "good-token", "org acme, token set"},
		{"both left empty: the local orchestrator", "", "", "no Humanitec org and token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := testWizardInput(&fakeHumanitec{})
			calls := 0
			in.Refresh = humanitecDoctor(&calls)
			in.Doctor, _ = in.Refresh(context.Background(), in.Options)
			s := start(t, newWizardModel(context.Background(), in, false), 100, 50)
			s.waitText("A small Internal Developer Platform")
			s.key("enter")
			s.waitFocus("Humanitec org id")
			s.tm.Type(tt.org)
			s.key("enter")
			s.waitFocus("Humanitec API token")
			s.tm.Type(tt.token)
			s.key("enter")
			s.waitText("Keep")
			s.key("enter")
			review := s.waitText("Create the platform?")
			for _, stale := range []string{"not set", "The machine is not ready"} {
				if strings.Contains(review, stale) {
					t.Errorf("the review shows %q from before:\n%s", stale, review)
				}
			}
			if !strings.Contains(review, tt.want) {
				t.Errorf("the review lacks %q:\n%s", tt.want, review)
			}
			if calls != 2 {
				t.Errorf("the machine was checked %d times, want once at the start and once for the review", calls)
			}
		})
	}
}

// TestWizardCheckUnreachable: a check that got no answer says so, keeps the
// token, and enter checks the same token again (issue 14, point 2). The
// server's echo of the token is masked (point 10).
func TestWizardCheckUnreachable(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	in := testWizardInput(nil)
	in.Check = func(_ context.Context, org string, tok secret.Value) error {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, tok.Reveal())
		if len(calls) == 1 {
			return fmt.Errorf("Humanitec could not be reached at https://api.humanitec.io: GET /current-user: no answer: proxy said: bad header %q", "Bearer "+tok.Reveal())
		}
		return nil
	}
	s := start(t, newWizardModel(context.Background(), in, false), 100, 40)
	s.waitText("A small Internal Developer Platform")
	s.key("enter")
	s.waitFocus("Humanitec org id")
	s.tm.Type("acme")
	s.key("enter")
	s.waitFocus("Humanitec API token")
	s.tm.Type("s3cr3t-token-value")
	s.key("enter")
	f := s.waitText("Could not check them with Humanitec")
	s.keep("no answer", f)
	if strings.Contains(f, "did not accept") {
		t.Errorf("a network error reads as a refusal:\n%s", f)
	}
	if strings.Contains(f, "s3cr3t") {
		t.Errorf("the token is shown in clear text:\n%s", f)
	}
	if !strings.Contains(f, "The token is kept") {
		t.Errorf("the frame does not say the token is kept:\n%s", f)
	}
	s.waitFocus("Humanitec API token")
	s.key("enter") // the same token again
	s.waitText("Keep")
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 2 || calls[1] != "s3cr3t-token-value" {
		t.Errorf("checks = %d, second with the token kept: %v", len(calls), calls[1:])
	}
	s.golden()
}

// TestWizardMasksEchoedToken: a refusal that echoes the token shows it
// masked, in the full screen and in accessible mode (issue 14, point 10).
func TestWizardMasksEchoedToken(t *testing.T) {
	echo := func(_ context.Context, _ string, tok secret.Value) error {
		return &config.InputError{Msg: "401 Unauthorized: token " + tok.Reveal() + " is not valid"}
	}
	in := testWizardInput(nil)
	in.Check = echo
	s := start(t, newWizardModel(context.Background(), in, false), 60, 40)
	s.waitText("A small Internal Developer Platform")
	s.key("enter")
	s.waitFocus("Humanitec org id")
	s.tm.Type("acme")
	s.key("enter")
	s.waitFocus("Humanitec API token")
	s.tm.Type("a-rather-long-secret-token-that-wraps")
	s.key("enter")
	f := s.waitText("did not accept")
	if strings.Contains(strings.ReplaceAll(f, "\n", ""), "secret-token") || strings.Contains(f, "a-rather-long") {
		t.Errorf("the token is shown:\n%s", f)
	}

	acc := testWizardInput(nil)
	acc.Check = echo
	acc.Accessible = true
	// The token from HUMANITEC_TOKEN: enter keeps it.
	acc.Options.HumanitecToken = secret.New("hunter2-token")
	acc.In = iotest.OneByteReader(strings.NewReader("acme\n\n"))
	var out bytes.Buffer
	acc.Out = &out
	_, _ = RunWizard(context.Background(), acc)
	if strings.Contains(out.String(), "hunter2") {
		t.Errorf("accessible mode shows the token:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "did not accept") {
		t.Errorf("accessible mode does not say it was refused:\n%s", out.String())
	}
}

// longFailure is a finding longer than any terminal line, whose fix is at
// its end.
var longFailure = doctor.Result{Check: "engine", Status: doctor.Fail,
	Found: "docker runs, but this user may not use its socket: permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock",
	Fix:   "add your user to the docker group: sudo usermod -aG docker $USER, then log out and in again"}

// TestWizardSmallTerminal: on 60 columns and 15 rows the review page shows
// the reason for the failure and its fix, wrapped, not cut, with the
// choice still on screen and the focused button marked without colour
// (issue 14, points 11 and 12).
func TestWizardSmallTerminal(t *testing.T) {
	in := testWizardInput(nil)
	in.Options.SkipHumanitec = true
	in.Doctor = append(slices.Clone(testDoctor[1:]), longFailure)
	s := start(t, newWizardModel(context.Background(), in, false), 60, 15)
	s.waitText("A small Internal Developer Platform")
	s.key("enter")
	s.waitText("Keep")
	s.key("enter")
	f := s.waitText("The machine is not ready")
	s.keep("60x15 review", f)
	flat := strings.Join(strings.Fields(f), " ")
	for _, want := range []string{"unix:///var/run/docker.sock", "sudo usermod -aG docker $USER", "Quit"} {
		if !strings.Contains(flat, want) {
			t.Errorf("the 60x15 review lacks %q:\n%s", want, f)
		}
	}
	if strings.Contains(f, "…") {
		t.Errorf("a finding is cut:\n%s", f)
	}
	if !strings.Contains(f, "›") {
		t.Errorf("the focused button is not marked without colour:\n%s", f)
	}
	if h := strings.Count(f, "\n") + 1; h > 15 {
		t.Errorf("the frame is %d lines on a 15-line terminal:\n%s", h, f)
	}
	if w := maxLineWidth(f); w > 60 {
		t.Errorf("the frame is %d cells wide on a 60-cell terminal", w)
	}
	s.golden()
}

// TestWizardAccessibleSaysWhatKeysDo: the plain prompts say what y and n
// choose and what enter keeps, and findings are never cut (issue 14,
// point 11).
func TestWizardAccessibleSaysWhatKeysDo(t *testing.T) {
	in := testWizardInput(nil)
	in.Options.SkipHumanitec = true
	in.Accessible = true
	in.Doctor = append(slices.Clone(testDoctor[1:]), longFailure)
	in.In = iotest.OneByteReader(strings.NewReader("n\n\n\n\n\n\n\n\n\nn\n"))
	var out bytes.Buffer
	in.Out = &out
	_, _ = RunWizard(context.Background(), in)
	text := strings.Join(strings.Fields(out.String()), " ")
	for _, want := range []string{"Settings (y: keep them, n: change them)", "Cluster name (enter keeps 5min-idp)",
		"HTTPS port (enter keeps 8443)", "sudo usermod -aG docker $USER"} {
		if !strings.Contains(text, want) {
			t.Errorf("accessible output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "…") {
		t.Errorf("accessible output cuts a finding:\n%s", text)
	}
}

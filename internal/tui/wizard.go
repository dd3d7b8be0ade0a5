package tui

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"
	"charm.land/lipgloss/v2"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/doctor"
	"github.com/pocketidp/pocketidp/internal/secret"
)

// PlanStep is one step of the plan as the review page shows it.
type PlanStep struct {
	Name string
	// Skipped is true when the step's result exists already.
	Skipped bool
}

// WizardInput is what the wizard starts from.
type WizardInput struct {
	// Options are the flags, the environment and the previous run's state,
	// merged by the CLI; the wizard's fields start from them.
	Options config.Options
	// Doctor and Plan are shown on the review page.
	Doctor []doctor.Result
	Plan   []PlanStep
	// Check asks Humanitec whether org and token work: the run's own check.
	// A refusal is a *config.InputError (the token is dropped); any other
	// error means Humanitec could not tell (the token is kept). nil accepts
	// any well-formed input.
	Check func(ctx context.Context, org string, token secret.Value) error
	// Refresh re-runs the doctor and the plan for the options chosen, each
	// time the review page opens; nil shows Doctor and Plan as given.
	Refresh func(ctx context.Context, o config.Options) ([]doctor.Result, []PlanStep)
	// Accessible asks with plain prompts instead of the full-screen form
	// (huh's accessible mode), as does TERM=dumb.
	Accessible bool
	// In and Out are the accessible mode's input and output; nil means
	// os.Stdin and os.Stdout.
	In  io.Reader
	Out io.Writer
	// ProgramOptions are passed to tea.NewProgram (tests: WithInput/WithOutput).
	ProgramOptions []tea.ProgramOption
}

// RunWizard asks for what `up` needs and returns the chosen options. It
// returns ErrAborted when the user leaves, and the doctor's failure (an
// *config.InputError) when the machine is not ready and the user quits.
func RunWizard(ctx context.Context, in WizardInput) (config.Options, error) {
	if in.Accessible || os.Getenv("TERM") == "dumb" {
		return runAccessibleWizard(ctx, in)
	}
	m := newWizardModel(ctx, in, true)
	final, err := tea.NewProgram(m, append([]tea.ProgramOption{tea.WithContext(ctx)}, in.ProgramOptions...)...).Run()
	if err != nil {
		return in.Options, fmt.Errorf("wizard: %w", err)
	}
	return final.(*wizardModel).result()
}

// checkTimeout bounds the live token check: Humanitec answers in well under
// a second, and a hung network must not hang the wizard.
const checkTimeout = 20 * time.Second

// wizardEnv is what every page of the wizard reads; it is set when the
// wizard starts. The redactor only grows: a page adds each secret it sees.
type wizardEnv struct {
	ctx context.Context
	in  WizardInput
	// redactor masks every secret the wizard has seen in what it shows:
	// a server's error may echo the token.
	redactor *secret.Redactor
	// animate runs the spinners (off in tests).
	animate bool
	// accessible asks with plain prompts, which show a field's title and
	// [Y/n] only: the titles then say what y and n choose and what enter
	// keeps.
	accessible bool
}

// choiceTitle is a confirm's title; in accessible mode it says what y and
// n choose, as the prompt shows only [Y/n].
func (e *wizardEnv) choiceTitle(title, yes, no string) string {
	if !e.accessible {
		return title
	}
	return fmt.Sprintf("%s (y: %s, n: %s)", title, yes, no)
}

// inputTitle is an input's title; in accessible mode it says what an empty
// answer keeps, as the prompt does not show it.
func (e *wizardEnv) inputTitle(title, keeps string) string {
	if !e.accessible || keeps == "" {
		return title
	}
	return fmt.Sprintf("%s (enter keeps %s)", title, keeps)
}

// page is one page of the wizard: a small model of its own (welcome,
// credentials, wait, settings, settings edit, review), each in its file.
// The wizard shows the current page in its frame and passes it every
// message; a page that is done says how in a report, which the wizard
// turns into the next page. Pages do not know each other.
type page interface {
	Init() tea.Cmd
	// Update handles msg. A tea.WindowSizeMsg is the terminal's size. The
	// report is nil while the page runs.
	Update(msg tea.Msg) (tea.Cmd, report)
	View() pageView
}

// report is how a page ended: one of the *Report types.
type report any

// The reports of the pages.
type (
	// abortReport: the user left; err is what RunWizard returns (nil:
	// ErrAborted).
	abortReport struct{ err error }
	// startReport: the welcome page's enter.
	startReport struct{}
	// credentialsReport: the credentials page's answer, taken into the
	// options; check asks for the live check of org and token.
	credentialsReport struct {
		opts  config.Options
		check bool
	}
	// checkedReport: the live check's answer (nil: accepted).
	checkedReport struct{ err error }
	// changeSettingsReport: the settings page's "Change".
	changeSettingsReport struct{}
	// settingsReport: the settings as chosen. needCreds: the orchestrator
	// was switched back on, so the credentials are asked; err: they are
	// not valid (opts is then unchanged).
	settingsReport struct {
		opts      config.Options
		needCreds bool
		err       error
	}
	// refreshedReport: the doctor and the plan for the options chosen.
	refreshedReport struct {
		doctor []doctor.Result
		plan   []PlanStep
	}
	// reviewReport: the review page's answer; err is the doctor's failure
	// when the answer is to quit.
	reviewReport struct {
		choice reviewChoice
		err    error
	}
)

// pageView is a page as the wizard's frame shows it.
type pageView struct {
	// step is the stepper's page: an index into pages.
	step int
	// body is shown above the form; on a small screen it gives way to it.
	body string
	// form is the form's view, "" for a page without one.
	form string
	// foot is shown under the body of a page without a form.
	foot string
}

// String is the page alone, without the wizard's frame.
func (v pageView) String() string {
	var parts []string
	for _, p := range []string{v.body, v.form, v.foot} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "\n")
}

type wizardEnd int

const (
	endRunning wizardEnd = iota
	endDone
	endAborted
)

// wizardModel is the wizard: the frame (header, stepper, the page's body
// and form), the options as chosen so far, and the current page.
type wizardModel struct {
	env  *wizardEnv
	opts config.Options
	// doctor and plan are the review's, refreshed for the options chosen.
	doctor []doctor.Result
	plan   []PlanStep
	// checkErr is the last live check's failure, shown above the
	// credentials until a check passes.
	checkErr error

	page page
	end  wizardEnd
	// err is what RunWizard returns after the user quit on a failed doctor.
	err error

	width, height int
}

func newWizardModel(ctx context.Context, in WizardInput, animate bool) *wizardModel {
	r := &secret.Redactor{}
	r.Add(in.Options.HumanitecToken)
	if in.Options.GiteaAdminPassword.Reveal() != in.Options.GiteaAdmin {
		r.Add(in.Options.GiteaAdminPassword)
	}
	m := &wizardModel{
		env:    &wizardEnv{ctx: ctx, in: in, redactor: r, animate: animate},
		opts:   in.Options,
		doctor: in.Doctor,
		plan:   in.Plan,
		width:  defaultWidth,
		height: defaultHeight,
	}
	m.show(newWelcomePage(m.opts))
	return m
}

func (m *wizardModel) result() (config.Options, error) {
	switch {
	case m.err != nil:
		return m.opts, m.err
	case m.end != endDone:
		return m.opts, ErrAborted
	}
	return m.opts, nil
}

func (m *wizardModel) Init() tea.Cmd { return m.page.Init() }

func (m *wizardModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if m.end != endRunning {
		return m, nil
	}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tea.KeyPressMsg:
		if msg.String() == "ctrl+c" {
			return m.quit(endAborted)
		}
	}
	cmd, r := m.page.Update(msg)
	if r == nil {
		return m, cmd
	}
	return m.next(r)
}

// next opens the page that follows a report.
func (m *wizardModel) next(r report) (tea.Model, tea.Cmd) {
	switch r := r.(type) {
	case abortReport:
		m.err = r.err
		return m.quit(endAborted)
	case startReport:
		return m.toCredentials()
	case credentialsReport:
		m.opts = r.opts
		if !r.check {
			return m.show(newSettingsPage(m.env, m.opts, true))
		}
		m.checkErr = nil
		check, ctx, org, tok := m.env.in.Check, m.env.ctx, m.opts.HumanitecOrg, m.opts.HumanitecToken
		return m.show(newWaitPage(1, "Checking org "+org+" and the token with Humanitec…", m.env.animate, func() report {
			ctx, cancel := context.WithTimeout(ctx, checkTimeout)
			defer cancel()
			return checkedReport{err: check(ctx, org, tok)}
		}))
	case checkedReport:
		if r.err == nil {
			return m.show(newSettingsPage(m.env, m.opts, true))
		}
		// Back to the form with the answer above it and the token field
		// focused: the token is what is usually wrong. A token Humanitec
		// did not refuse (no answer) is kept, so enter checks it again.
		m.checkErr = r.err
		if refused(r.err) {
			m.opts.HumanitecToken = secret.Value{} // refused, even if it came from HUMANITEC_TOKEN
		}
		p := newCredentialsPage(m.env, m.opts, m.checkErr)
		p.focusToken = true
		return m.show(p)
	case changeSettingsReport:
		return m.show(newSettingsEditPage(m.env, m.opts, nil))
	case settingsReport:
		switch {
		case r.needCreds:
			m.opts = r.opts
			return m.toCredentials()
		case r.err != nil:
			return m.show(newSettingsEditPage(m.env, m.opts, r.err))
		}
		m.opts = r.opts
		if m.env.in.Refresh == nil {
			return m.toReview()
		}
		// The review shows the machine as it is now, for the options as
		// they are now (credentials typed since the wizard started, an
		// engine stopped meanwhile): it is checked every time.
		refresh, ctx, o := m.env.in.Refresh, m.env.ctx, m.opts
		return m.show(newWaitPage(2, "Checking the machine for these settings…", m.env.animate, func() report {
			d, p := refresh(ctx, o)
			return refreshedReport{doctor: d, plan: p}
		}))
	case refreshedReport:
		m.doctor, m.plan = r.doctor, r.plan
		return m.toReview()
	case reviewReport:
		switch r.choice {
		case choiceCreate:
			return m.quit(endDone)
		case choiceChange:
			return m.show(newSettingsEditPage(m.env, m.opts, nil))
		}
		m.err = r.err
		return m.quit(endAborted)
	}
	panic(fmt.Sprintf("wizard: unknown report %T", r))
}

func (m *wizardModel) toCredentials() (tea.Model, tea.Cmd) {
	if m.opts.SkipHumanitec {
		return m.show(newSettingsPage(m.env, m.opts, true))
	}
	return m.show(newCredentialsPage(m.env, m.opts, m.checkErr))
}

func (m *wizardModel) toReview() (tea.Model, tea.Cmd) {
	return m.show(newReviewPage(m.env, m.opts, m.doctor, m.plan))
}

// show makes p the current page: sized to the screen, then started.
func (m *wizardModel) show(p page) (tea.Model, tea.Cmd) {
	m.page = p
	p.Update(tea.WindowSizeMsg{Width: m.width, Height: m.height})
	return m, p.Init()
}

func (m *wizardModel) quit(e wizardEnd) (tea.Model, tea.Cmd) {
	m.end, m.page = e, nil
	return m, tea.Quit
}

var pages = []string{"Welcome", "Humanitec", "Settings", "Review"}

func stepper(current int) string {
	// The current page is marked by a sign, not only by colour.
	var parts []string
	for i, p := range pages {
		switch {
		case i == current:
			parts = append(parts, sectionStyle.Render("● "+p))
		default:
			parts = append(parts, subtleStyle.Render("○ "+p))
		}
	}
	return strings.Join(parts, "  ")
}

func (m *wizardModel) View() tea.View {
	return tea.NewView(m.render())
}

func (m *wizardModel) render() string {
	w := cardWidth(m.width)
	switch m.end {
	case endDone:
		return clip(okStyle.Render(iconDone)+" "+settingsLine(m.opts), w)
	case endAborted:
		if m.err != nil {
			return clip(badStyle.Render(iconFailed)+" The machine is not ready: nothing was created.", w)
		}
		return clip(subtleStyle.Render("Cancelled: nothing was created."), w)
	}
	v := m.page.View()
	parts := []string{header("setup", "", w), stepper(v.step), ""}
	if m.height < smallHeight {
		// Every line counts: the stepper goes first.
		parts = parts[:1]
	}
	if body := v.body; body != "" {
		if v.form != "" {
			// On a small screen the page gives way to the form, and shows
			// the reason for a failure rather than its first lines; the
			// header says how much is out of view.
			var hidden int
			body, hidden = fitBody(body, m.height-len(parts)-lipgloss.Height(v.form))
			if hidden > 0 {
				parts[0] = header("setup", fmt.Sprintf("%d lines out of view", hidden), w)
			}
		}
		parts = append(parts, body)
	}
	switch {
	case v.form != "":
		parts = append(parts, v.form)
	case v.foot != "":
		parts = append(parts, v.foot)
	}
	return clip(m.env.redactor.Redact(strings.Join(parts, "\n")), w)
}

// formPage is what the pages with a form share: the form, fitted to the
// screen under the page's body.
type formPage struct {
	form          *huh.Form
	width, height int
}

func newFormPage(groups ...*huh.Group) formPage {
	return formPage{form: huh.NewForm(groups...).WithShowHelp(true).WithTheme(formTheme), width: defaultWidth, height: defaultHeight}
}

// update passes msg to the form and says the form's state after it; a
// tea.WindowSizeMsg fits the form under body instead.
func (p *formPage) update(msg tea.Msg, body func() string) (tea.Cmd, huh.FormState) {
	if ws, ok := msg.(tea.WindowSizeMsg); ok {
		p.width, p.height = ws.Width, ws.Height
		p.fit(body())
		return nil, p.form.State
	}
	f, cmd := p.form.Update(msg)
	p.form = f.(*huh.Form)
	return cmd, p.form.State
}

// fit gives the form the width of the screen (up to a card) and the
// height left under the page's own lines.
func (p *formPage) fit(body string) {
	w := cardWidth(p.width)
	p.form.WithWidth(w)
	// The page above gives way to the form on a small screen (fitBody),
	// down to a few lines: the form keeps room for its choice.
	above := min(lipgloss.Height(body), minBodyLines) + 3
	if p.height < smallHeight {
		above -= 2
	}
	p.form.Update(tea.WindowSizeMsg{Width: w, Height: max(p.height-above, 5)})
}

// minBodyLines is the least a page keeps above its form on a small screen,
// and below smallHeight rows the wizard drops its stepper.
const (
	minBodyLines = 5
	smallHeight  = 20
)

// fitBody keeps body within room lines (at least minBodyLines) and says
// how many it left out. When it is taller it starts at the first failed
// check: the reason and its fix are the lines the user needs.
func fitBody(body string, room int) (string, int) {
	lines := strings.Split(strings.TrimRight(body, "\n"), "\n")
	room = max(room, minBodyLines)
	if len(lines) <= room {
		return body, 0
	}
	start := 0
	for i, l := range lines {
		if strings.Contains(l, iconFailed) {
			start = i
			break
		}
	}
	start = min(start, len(lines)-room)
	return strings.Join(lines[start:start+room], "\n"), len(lines) - room
}

func ansiTruncate(s string, w int) string { return clip(s, w) }

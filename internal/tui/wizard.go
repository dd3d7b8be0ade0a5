package tui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/spinner"
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

type wizardPhase int

const (
	phaseWelcome wizardPhase = iota
	phaseCredentials
	phaseChecking
	phaseSettings
	phaseSettingsEdit
	phaseRefreshing
	phaseReview
	phaseDone
	phaseAborted
)

// wizardValues are the form fields' values; huh binds to their addresses.
type wizardValues struct {
	org, token                              string
	keep                                    bool
	name, port, listen, kubeconfig, kubeCtx string
	trust, skip, wait                       bool
	create                                  bool
}

type checkedMsg struct{ err error }

type refreshedMsg struct {
	doctor []doctor.Result
	plan   []PlanStep
}

type wizardModel struct {
	ctx  context.Context
	in   WizardInput
	opts config.Options
	v    *wizardValues

	phase wizardPhase
	form  *huh.Form
	// checkErr is the last live check's answer, shown above the form.
	checkErr error
	// redactor masks every secret the wizard has seen in what it shows:
	// a server's error may echo the token.
	redactor    *secret.Redactor
	settingsErr error
	doctor      []doctor.Result
	plan        []PlanStep
	// err is what RunWizard returns after the user quit on a failed doctor.
	err error

	spinner spinner.Model
	animate bool
	// accessible asks with plain prompts, which show a field's title and
	// [Y/n] only: the titles then say what y and n choose and what enter
	// keeps.
	accessible bool

	width, height int
}

func newWizardModel(ctx context.Context, in WizardInput, animate bool) *wizardModel {
	r := &secret.Redactor{}
	r.Add(in.Options.HumanitecToken)
	if in.Options.GiteaAdminPassword.Reveal() != in.Options.GiteaAdmin {
		r.Add(in.Options.GiteaAdminPassword)
	}
	return &wizardModel{
		redactor: r,
		ctx:      ctx,
		in:       in,
		opts:     in.Options,
		v:        &wizardValues{keep: true, create: true},
		doctor:   in.Doctor,
		plan:     in.Plan,
		spinner:  spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(lipgloss.NewStyle().Foreground(accent))),
		animate:  animate,
		width:    defaultWidth,
		height:   defaultHeight,
	}
}

func (m *wizardModel) result() (config.Options, error) {
	switch {
	case m.err != nil:
		return m.opts, m.err
	case m.phase != phaseDone:
		return m.opts, ErrAborted
	}
	return m.opts, nil
}

func (m *wizardModel) Init() tea.Cmd { return nil }

func (m *wizardModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		if m.form != nil {
			m.fitForm()
		}
		return m, nil
	case tea.KeyPressMsg:
		switch {
		case msg.String() == "ctrl+c":
			return m.quit(phaseAborted)
		case m.phase == phaseWelcome:
			switch msg.String() {
			case "enter":
				return m.toCredentials()
			case "esc", "q":
				return m.quit(phaseAborted)
			}
			return m, nil
		case m.phase == phaseChecking || m.phase == phaseRefreshing:
			return m, nil // keys wait until the answer is in
		}
	case checkedMsg:
		return m.checked(msg.err)
	case refreshedMsg:
		m.doctor, m.plan = msg.doctor, msg.plan
		return m.toReview()
	case spinner.TickMsg:
		if m.phase == phaseChecking || m.phase == phaseRefreshing {
			var cmd tea.Cmd
			m.spinner, cmd = m.spinner.Update(msg)
			return m, cmd
		}
		return m, nil
	}
	if m.form == nil {
		return m, nil
	}
	f, cmd := m.form.Update(msg)
	m.form = f.(*huh.Form)
	switch m.form.State {
	case huh.StateCompleted:
		return m.formDone()
	case huh.StateAborted:
		return m.quit(phaseAborted)
	}
	return m, cmd
}

func (m *wizardModel) quit(p wizardPhase) (tea.Model, tea.Cmd) {
	m.phase, m.form = p, nil
	return m, tea.Quit
}

func (m *wizardModel) formDone() (tea.Model, tea.Cmd) {
	switch m.phase {
	case phaseCredentials:
		return m.credentialsDone()
	case phaseSettings:
		if !m.v.keep {
			return m.toSettingsEdit()
		}
		return m.settingsDone()
	case phaseSettingsEdit:
		return m.settingsDone()
	case phaseReview:
		return m.reviewDone()
	}
	return m, nil
}

// newForm wraps groups in a form sized to the screen.
func (m *wizardModel) newForm(groups ...*huh.Group) (*huh.Form, tea.Cmd) {
	m.form = huh.NewForm(groups...).WithShowHelp(true).WithTheme(formTheme)
	m.fitForm()
	return m.form, m.form.Init()
}

// fitForm gives the form the width of the screen (up to a card) and the
// height left under the page's own lines.
func (m *wizardModel) fitForm() {
	w := cardWidth(m.width)
	m.form.WithWidth(w)
	// The page above gives way to the form on a small screen (fitBody),
	// down to a few lines: the form keeps room for its choice.
	above := min(lipgloss.Height(m.pageBody()), minBodyLines) + 3
	if m.height < smallHeight {
		above -= 2
	}
	m.form.Update(tea.WindowSizeMsg{Width: w, Height: max(m.height-above, 5)})
}

func (m *wizardModel) spin() tea.Cmd {
	if m.animate {
		return m.spinner.Tick
	}
	return nil
}

// choiceTitle is a confirm's title; in accessible mode it says what y and
// n choose, as the prompt shows only [Y/n].
func (m *wizardModel) choiceTitle(title, yes, no string) string {
	if !m.accessible {
		return title
	}
	return fmt.Sprintf("%s (y: %s, n: %s)", title, yes, no)
}

// inputTitle is an input's title; in accessible mode it says what an empty
// answer keeps, as the prompt does not show it.
func (m *wizardModel) inputTitle(title, keeps string) string {
	if !m.accessible || keeps == "" {
		return title
	}
	return fmt.Sprintf("%s (enter keeps %s)", title, keeps)
}

// --- Humanitec credentials ---

func (m *wizardModel) toCredentials() (tea.Model, tea.Cmd) {
	if m.opts.SkipHumanitec {
		return m.toSettings(true)
	}
	m.phase = phaseCredentials
	m.v.org = m.opts.HumanitecOrg
	m.v.token = ""
	_, cmd := m.newForm(m.credentialsGroup())
	return m, cmd
}

func (m *wizardModel) credentialsGroup() *huh.Group {
	hasToken := !m.opts.HumanitecToken.Empty()
	tokenDesc := "API token of a service user with the Administrator role."
	if hasToken {
		tokenDesc = "Leave empty to use the token given before (HUMANITEC_TOKEN, or typed here)."
	}
	org := huh.NewInput().Key("org").
		Title(m.inputTitle("Humanitec org id", m.v.org)).
		Description("As in https://app.humanitec.io/orgs/<org-id>").
		Value(&m.v.org).
		Validate(validOrg)
	token := huh.NewInput().Key("token").
		Title("Humanitec API token").
		Description(tokenDesc).
		EchoMode(huh.EchoModePassword).
		Value(&m.v.token).
		Validate(func(s string) error {
			org := strings.TrimSpace(m.v.org)
			switch {
			case strings.TrimSpace(s) == "" && org != "" && !hasToken:
				return errors.New("paste the token, or leave the org empty too to skip Humanitec")
			case strings.TrimSpace(s) != "" && org == "":
				return errors.New("enter the org id first (shift+tab goes back)")
			}
			return nil
		})
	return huh.NewGroup(org, token).
		Title("Humanitec").
		Description("Leave both empty to build everything but the Humanitec registration.")
}

// validOrg checks the org id with the same rule as the flags.
func validOrg(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	o := config.Options{HumanitecOrg: s, HumanitecToken: secret.New("checked-later")}
	return o.CheckHumanitec()
}

// applyCredentials takes the credentials form's values into the options and
// reports whether there is something for the live check to check.
func (m *wizardModel) applyCredentials() (org string, tok secret.Value, check bool) {
	org = strings.TrimSpace(m.v.org)
	tok = secret.New(m.v.token)
	m.redactor.Add(tok)
	if tok.Empty() {
		tok = m.opts.HumanitecToken
	}
	if org == "" {
		// The same rule as --yes without org and token: build the rest.
		m.opts.HumanitecOrg, m.opts.SkipHumanitec = "", true
		return "", tok, false
	}
	m.opts.HumanitecOrg, m.opts.HumanitecToken, m.opts.SkipHumanitec = org, tok, false
	return org, tok, m.in.Check != nil
}

func (m *wizardModel) credentialsDone() (tea.Model, tea.Cmd) {
	org, tok, check := m.applyCredentials()
	if !check {
		return m.toSettings(true)
	}
	m.phase, m.form, m.checkErr = phaseChecking, nil, nil
	fn, ctx := m.in.Check, m.ctx
	return m, tea.Batch(m.spin(), func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, checkTimeout)
		defer cancel()
		return checkedMsg{err: fn(ctx, org, tok)}
	})
}

func (m *wizardModel) checked(err error) (tea.Model, tea.Cmd) {
	if m.phase != phaseChecking {
		return m, nil
	}
	if err == nil {
		return m.toSettings(true)
	}
	// Back to the form with the answer above it and the token field
	// focused: the token is what is usually wrong. A token Humanitec did
	// not refuse (no answer) is kept, so enter checks it again.
	m.checkErr = err
	if refused(err) {
		m.opts.HumanitecToken = secret.Value{} // refused, even if it came from HUMANITEC_TOKEN
	}
	m.phase = phaseCredentials
	m.v.token = ""
	_, initCmd := m.newForm(m.credentialsGroup())
	return m, tea.Batch(initCmd, m.form.NextField())
}

// refused reports whether Humanitec answered the check with a no, rather
// than not answering.
func refused(err error) bool { return config.IsInput(err) }

// checkMessage is the live check's answer as the wizard says it, with every
// secret masked.
func (m *wizardModel) checkMessage(err error) string {
	if refused(err) {
		return iconFailed + " Humanitec did not accept these: " + m.redactor.Redact(err.Error())
	}
	return iconFailed + " Could not check them with Humanitec: " + m.redactor.Redact(err.Error()) +
		". The token is kept: press enter to try again, or leave the org empty to skip Humanitec."
}

// --- settings ---

// toSettings opens the settings page, which shows the settings and asks
// whether to keep them; keep preselects "Keep" over "Change".
func (m *wizardModel) toSettings(keep bool) (tea.Model, tea.Cmd) {
	m.phase = phaseSettings
	m.loadSettings(keep)
	_, cmd := m.newForm(m.keepGroup())
	return m, cmd
}

// toSettingsEdit opens the settings' fields.
func (m *wizardModel) toSettingsEdit() (tea.Model, tea.Cmd) {
	m.phase = phaseSettingsEdit
	m.loadSettings(false)
	_, cmd := m.newForm(m.editGroups()...)
	return m, cmd
}

func (m *wizardModel) loadSettings(keep bool) {
	o := m.opts
	m.v.name, m.v.port, m.v.listen = o.Name, strconv.Itoa(o.Port), o.ListenAddress
	m.v.kubeconfig, m.v.kubeCtx = o.Kubeconfig, o.Context
	m.v.trust, m.v.skip, m.v.wait = o.Trust, o.SkipHumanitec, o.Wait
	m.v.keep = keep && m.settingsErr == nil
}

func (m *wizardModel) keepGroup() *huh.Group {
	return huh.NewGroup(huh.NewConfirm().Key("keep").
		Title(m.choiceTitle("Settings", "keep them", "change them")).
		Description(settingsText(m.opts)).
		Affirmative("Keep").
		Negative("Change").
		Value(&m.v.keep))
}

func (m *wizardModel) editGroups() []*huh.Group {
	cluster := huh.NewGroup(
		huh.NewInput().Key("name").Title(m.inputTitle("Cluster name", m.v.name)).Value(&m.v.name).
			Validate(validField(func(o *config.Options, s string) error { o.Name = s; return nil })),
		huh.NewInput().Key("port").Title(m.inputTitle("HTTPS port", m.v.port)).Description("URLs become https://<name>.localhost:<port>").Value(&m.v.port).
			Validate(validField(func(o *config.Options, s string) error {
				p, err := strconv.Atoi(s)
				if err != nil {
					return fmt.Errorf("port %q is not a number", s)
				}
				o.Port = p
				return nil
			})),
		huh.NewInput().Key("listen").Title(m.inputTitle("Listen address", m.v.listen)).Description("127.0.0.1 keeps it on this machine, 0.0.0.0 opens it to the network").Value(&m.v.listen).
			Validate(validField(func(o *config.Options, s string) error { o.ListenAddress = s; return nil })),
		huh.NewInput().Key("kubeconfig").Title(m.inputTitle("Existing cluster: kubeconfig", m.v.kubeconfig)).Description("Empty creates a kind cluster").Value(&m.v.kubeconfig),
		huh.NewInput().Key("context").Title(m.inputTitle("Existing cluster: context", m.v.kubeCtx)).Value(&m.v.kubeCtx),
	).Title("Cluster")
	var fields []huh.Field
	if !m.opts.Coder {
		// In a Coder workspace the trust store is not the browser's.
		fields = append(fields, huh.NewConfirm().Key("trust").Title("Trust the local CA?").
			Description("Adds it to the system trust store so browsers accept the URLs; down removes it.").
			Value(&m.v.trust))
	}
	fields = append(fields, huh.NewConfirm().Key("skip").Title("Skip Humanitec?").
		Description("Builds everything else; Backstage is deployed by Humanitec, so not in this run.").
		Value(&m.v.skip))
	fields = append(fields, huh.NewConfirm().Key("wait").Title("Wait for Backstage?").
		Description(fmt.Sprintf("Follows its build and Humanitec deployment until it answers, up to %s more (--wait).", duration(m.opts.WaitTimeout))).
		Value(&m.v.wait))
	extras := huh.NewGroup(fields...).Title("Options")
	return []*huh.Group{cluster, extras}
}

// validField checks one field with the same rules as the flags: the value is
// applied to the defaults and the whole is validated. Empty keeps the default.
func validField(apply func(o *config.Options, s string) error) func(string) error {
	return func(s string) error {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil
		}
		o := config.Defaults()
		o.SkipHumanitec = true
		if err := apply(&o, s); err != nil {
			return err
		}
		return o.Validate()
	}
}

// applySettings takes the settings form's values into the options. It
// reports needCreds when Humanitec was switched back on without org and
// token, and keeps the options unchanged (settingsErr set) when they are bad.
func (m *wizardModel) applySettings() (needCreds bool) {
	o := m.opts
	d := config.Defaults()
	o.Name = cmp.Or(strings.TrimSpace(m.v.name), d.Name)
	o.Port = d.Port
	if p, err := strconv.Atoi(strings.TrimSpace(m.v.port)); err == nil {
		o.Port = p
	}
	o.ListenAddress = cmp.Or(strings.TrimSpace(m.v.listen), d.ListenAddress)
	o.Kubeconfig, o.Context = strings.TrimSpace(m.v.kubeconfig), strings.TrimSpace(m.v.kubeCtx)
	o.Trust = m.v.trust && !o.Coder
	o.SkipHumanitec = m.v.skip
	o.Wait = m.v.wait
	if !o.SkipHumanitec && (o.HumanitecOrg == "" || o.HumanitecToken.Empty()) {
		m.opts, m.settingsErr = o, nil
		return true
	}
	if err := o.Validate(); err != nil {
		m.settingsErr = err
		return false
	}
	m.opts, m.settingsErr = o, nil
	return false
}

func (m *wizardModel) settingsDone() (tea.Model, tea.Cmd) {
	needCreds := m.applySettings()
	switch {
	case needCreds:
		return m.toCredentials()
	case m.settingsErr != nil:
		return m.toSettingsEdit()
	case m.in.Refresh != nil:
		// The review shows the machine as it is now, for the options as
		// they are now (credentials typed since the wizard started, an
		// engine stopped meanwhile): it is checked every time.
		m.phase, m.form = phaseRefreshing, nil
		refresh, ctx, o := m.in.Refresh, m.ctx, m.opts
		return m, tea.Batch(m.spin(), func() tea.Msg {
			d, p := refresh(ctx, o)
			return refreshedMsg{doctor: d, plan: p}
		})
	}
	return m.toReview()
}

// --- review ---

func (m *wizardModel) doctorFailed() error {
	var errs []error
	for _, r := range m.doctor {
		if err := r.Err(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Check, err))
		}
	}
	return errors.Join(errs...)
}

func (m *wizardModel) toReview() (tea.Model, tea.Cmd) {
	m.phase = phaseReview
	m.v.create = true
	_, cmd := m.newForm(huh.NewGroup(m.reviewField()))
	return m, cmd
}

func (m *wizardModel) reviewField() huh.Field {
	switch {
	case m.doctorFailed() == nil:
		return huh.NewConfirm().Key("create").Title(m.choiceTitle("Create the platform?", "create it", "change settings")).
			Affirmative("Create").Negative("Change settings").Value(&m.v.create)
	case m.in.Refresh != nil:
		return huh.NewConfirm().Key("create").Title(m.choiceTitle("The machine is not ready.", "change settings", "quit")).
			Affirmative("Change settings").Negative("Quit").Value(&m.v.create)
	default:
		return huh.NewNote().Title("The machine is not ready.").
			Description("Fix what is listed above, then run pocketidp again.").
			Next(true).NextLabel("Quit")
	}
}

type reviewChoice int

const (
	choiceCreate reviewChoice = iota
	choiceChange
	choiceQuit
)

// choice reads the review page's answer.
func (m *wizardModel) choice() reviewChoice {
	failed := m.doctorFailed() != nil
	switch {
	case !failed && m.v.create:
		return choiceCreate
	case !failed, m.in.Refresh != nil && m.v.create:
		return choiceChange
	default:
		return choiceQuit
	}
}

func (m *wizardModel) reviewDone() (tea.Model, tea.Cmd) {
	switch m.choice() {
	case choiceCreate:
		return m.quit(phaseDone)
	case choiceChange:
		return m.toSettingsEdit()
	default:
		m.err = m.doctorFailed()
		return m.quit(phaseAborted)
	}
}

// --- views ---

var pages = []string{"Welcome", "Humanitec", "Settings", "Review"}

func (m *wizardModel) pageIndex() int {
	switch m.phase {
	case phaseWelcome:
		return 0
	case phaseCredentials, phaseChecking:
		return 1
	case phaseSettings, phaseSettingsEdit, phaseRefreshing:
		return 2
	default:
		return 3
	}
}

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
	switch m.phase {
	case phaseDone:
		return clip(okStyle.Render(iconDone)+" "+settingsLine(m.opts), w)
	case phaseAborted:
		if m.err != nil {
			return clip(badStyle.Render(iconFailed)+" The machine is not ready: nothing was created.", w)
		}
		return clip(subtleStyle.Render("Cancelled: nothing was created."), w)
	}
	parts := []string{header("setup", "", w), stepper(m.pageIndex()), ""}
	if m.height < smallHeight {
		// Every line counts: the stepper goes first.
		parts = parts[:1]
	}
	if body := m.pageBody(); body != "" {
		if m.form != nil {
			// On a small screen the page gives way to the form, and shows
			// the reason for a failure rather than its first lines; the
			// header says how much is out of view.
			var hidden int
			body, hidden = fitBody(body, m.height-len(parts)-lipgloss.Height(m.form.View()))
			if hidden > 0 {
				parts[0] = header("setup", fmt.Sprintf("%d lines out of view", hidden), w)
			}
		}
		parts = append(parts, body)
	}
	switch {
	case m.form != nil:
		parts = append(parts, m.form.View())
	case m.phase == phaseWelcome:
		parts = append(parts, "", keyHelp("enter", "start", "ctrl+c", "quit"))
	}
	return clip(m.redactor.Redact(strings.Join(parts, "\n")), w)
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

// pageBody is what a page shows above its form.
func (m *wizardModel) pageBody() string {
	w := cardWidth(m.width)
	switch m.phase {
	case phaseWelcome:
		return welcomeText(m.opts, w)
	case phaseCredentials:
		if m.checkErr != nil {
			return badStyle.Width(w).Render(m.checkMessage(m.checkErr)) + "\n"
		}
	case phaseChecking:
		return m.spinner.View() + " Checking org " + m.opts.HumanitecOrg + " and the token with Humanitec…"
	case phaseSettingsEdit:
		if m.settingsErr != nil {
			return badStyle.Width(w).Render(iconFailed+" "+m.redactor.Redact(m.settingsErr.Error())) + "\n"
		}
	case phaseRefreshing:
		return m.spinner.View() + " Checking the machine for these settings…"
	case phaseReview:
		return reviewText(m.opts, m.doctor, m.plan, w)
	}
	return ""
}

func welcomeText(o config.Options, w int) string {
	wrap := lipgloss.NewStyle().Width(w - 4)
	bullet := func(s string) string { return indentAfter("  • ", wrap.Render(s)) }
	cluster := fmt.Sprintf("a kind cluster %s with Traefik serving https://*.localhost:%d under a local CA", o.Name, o.Port)
	if o.ExistingCluster() {
		cluster = fmt.Sprintf("Traefik in your cluster (%s) serving https://*.localhost:%d under a local CA", cmp.Or(o.Context, o.Kubeconfig), o.Port)
	}
	lines := []string{
		titleStyle.Render("A small Internal Developer Platform on this machine:"),
		"",
		bullet(cluster),
		bullet(fmt.Sprintf("Gitea at https://git.localhost:%d (admin %s) with 5minorg/backstage", o.Port, o.GiteaAdmin)),
		bullet("a CI runner and an image registry (localhost:5001)"),
		bullet("in Humanitec: environment type " + config.EnvType + ", two apps, resource definitions and an agent"),
		bullet("Backstage, built by the first CI run and deployed by Humanitec"),
		"",
		subtleStyle.Width(w).Render("About 5 minutes. `pocketidp down` removes all of it, and only what it created."),
	}
	return strings.Join(lines, "\n")
}

// settingsLine is the one-line recap of the chosen options.
func settingsLine(o config.Options) string {
	where := "kind cluster " + o.Name
	if o.ExistingCluster() {
		where = "cluster " + cmp.Or(o.Context, o.Kubeconfig)
	}
	hum := "Humanitec org " + o.HumanitecOrg
	if o.SkipHumanitec {
		hum = "Humanitec skipped"
	}
	if o.Wait && !o.SkipHumanitec {
		hum += " · waits for Backstage"
	}
	return fmt.Sprintf("%s on %s:%d · %s", where, o.ListenAddress, o.Port, hum)
}

func settingsText(o config.Options) string {
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	cluster := "new kind cluster " + o.Name
	if o.ExistingCluster() {
		cluster = "existing: " + strings.TrimSpace(o.Kubeconfig+" "+o.Context)
	}
	hum := "org " + o.HumanitecOrg
	if o.SkipHumanitec {
		hum = "skipped"
	}
	rows := [][2]string{
		{"cluster", cluster},
		{"port", strconv.Itoa(o.Port)},
		{"listen", o.ListenAddress},
		{"Humanitec", hum},
	}
	if !o.SkipHumanitec {
		wait := "no, up ends when the platform is up"
		if o.Wait {
			wait = "for Backstage too, up to " + duration(o.WaitTimeout)
		}
		rows = append(rows, [2]string{"wait", wait})
	}
	if !o.Coder {
		rows = append(rows, [2]string{"trust CA", yes(o.Trust)})
	}
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%-10s %s\n", r[0], r[1])
	}
	return strings.TrimRight(b.String(), "\n")
}

func reviewText(o config.Options, results []doctor.Result, plan []PlanStep, w int) string {
	var b strings.Builder
	fmt.Fprintln(&b, sectionStyle.Render("Settings")+"  "+settingsLine(o))
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, sectionStyle.Render("Machine"))
	b.WriteString(doctorText(results, w))
	fmt.Fprintln(&b)
	var run, skip []string
	for _, s := range plan {
		if s.Skipped {
			skip = append(skip, s.Name)
		} else {
			run = append(run, s.Name)
		}
	}
	fmt.Fprintln(&b, sectionStyle.Render("Plan")+subtleStyle.Render(fmt.Sprintf("  %d steps", len(plan))))
	wrap := lipgloss.NewStyle().Width(w - 2)
	if len(run) > 0 {
		fmt.Fprintln(&b, indentAfter("  ", wrap.Render("run: "+strings.Join(run, ", "))))
	}
	if len(skip) > 0 {
		fmt.Fprintln(&b, indentAfter("  ", subtleStyle.Render(wrap.Render("already in place, skipped: "+strings.Join(skip, ", ")))))
	}
	return b.String()
}

func doctorText(results []doctor.Result, w int) string {
	var b strings.Builder
	nameW := 0
	for _, r := range results {
		nameW = max(nameW, len(r.Check))
	}
	for _, r := range results {
		icon, st := okStyle.Render(iconDone), lipgloss.NewStyle()
		switch r.Status {
		case doctor.Warn:
			icon, st = warnStyle.Render(iconWarn), warnStyle
		case doctor.Fail:
			icon, st = badStyle.Render(iconFailed), badStyle.UnsetBold()
		}
		// Findings wrap under their check, never cut: the reason for a
		// failure is the line the user needs.
		found := lipgloss.NewStyle().Width(max(w-nameW-6, 10)).Render(r.Found)
		fmt.Fprintln(&b, indentAfter(fmt.Sprintf("  %s %-*s  ", icon, nameW, r.Check), st.Render(found)))
		if r.Status != doctor.OK && r.Fix != "" {
			fix := lipgloss.NewStyle().Width(max(w-nameW-6, 10)).Render("fix: " + r.Fix)
			fmt.Fprintln(&b, indentAfter(strings.Repeat(" ", nameW+6), subtleStyle.Render(fix)))
		}
	}
	return b.String()
}

func ansiTruncate(s string, w int) string { return clip(s, w) }

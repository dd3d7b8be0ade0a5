package tui

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
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

func ansiTruncate(s string, w int) string { return clip(s, w) }

package tui

import (
	"errors"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"
	"charm.land/lipgloss/v2"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/doctor"
)

// reviewPage shows the settings, the doctor's findings and the plan, and
// asks to create the platform, change the settings, or (the machine not
// ready) quit. It reports a reviewReport.
type reviewPage struct {
	env    *wizardEnv
	opts   config.Options
	doctor []doctor.Result
	plan   []PlanStep
	create bool
	formPage
}

func newReviewPage(env *wizardEnv, o config.Options, results []doctor.Result, plan []PlanStep) *reviewPage {
	p := &reviewPage{env: env, opts: o, doctor: results, plan: plan, create: true}
	p.formPage = newFormPage(huh.NewGroup(p.field()))
	return p
}

func (p *reviewPage) Init() tea.Cmd { return p.form.Init() }

func (p *reviewPage) Update(msg tea.Msg) (tea.Cmd, report) {
	cmd, st := p.update(msg, p.body)
	switch st {
	case huh.StateCompleted:
		r := reviewReport{choice: p.choice()}
		if r.choice == choiceQuit {
			r.err = doctorFailed(p.doctor)
		}
		return nil, r
	case huh.StateAborted:
		return nil, abortReport{}
	}
	return cmd, nil
}

func (p *reviewPage) View() pageView {
	return pageView{step: 3, body: p.body(), form: p.form.View()}
}

func (p *reviewPage) body() string {
	return reviewText(p.opts, p.doctor, p.plan, cardWidth(p.width))
}

func doctorFailed(results []doctor.Result) error {
	var errs []error
	for _, r := range results {
		if err := r.Err(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Check, err))
		}
	}
	return errors.Join(errs...)
}

func (p *reviewPage) field() huh.Field {
	switch {
	case doctorFailed(p.doctor) == nil:
		return huh.NewConfirm().Key("create").Title(p.env.choiceTitle("Create the platform?", "create it", "change settings")).
			Affirmative("Create").Negative("Change settings").Value(&p.create)
	case p.env.in.Refresh != nil:
		return huh.NewConfirm().Key("create").Title(p.env.choiceTitle("The machine is not ready.", "change settings", "quit")).
			Affirmative("Change settings").Negative("Quit").Value(&p.create)
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

// choice reads the page's answer.
func (p *reviewPage) choice() reviewChoice {
	failed := doctorFailed(p.doctor) != nil
	switch {
	case !failed && p.create:
		return choiceCreate
	case !failed, p.env.in.Refresh != nil && p.create:
		return choiceChange
	default:
		return choiceQuit
	}
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

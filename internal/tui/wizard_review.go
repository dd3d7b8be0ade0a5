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

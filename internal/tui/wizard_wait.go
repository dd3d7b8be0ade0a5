package tui

import (
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

// waitPage shows a spinner while work runs (the live check of the
// credentials, the doctor for the settings chosen) and reports what the
// work reports. Keys wait until the answer is in.
type waitPage struct {
	step    int
	text    string
	work    func() report
	spinner spinner.Model
	animate bool
}

// waitDoneMsg carries the work's report back to its page.
type waitDoneMsg struct{ r report }

func newWaitPage(step int, text string, animate bool, work func() report) *waitPage {
	return &waitPage{
		step: step, text: text, work: work, animate: animate,
		spinner: spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(lipgloss.NewStyle().Foreground(accent))),
	}
}

func (p *waitPage) Init() tea.Cmd {
	var spin tea.Cmd
	if p.animate {
		spin = p.spinner.Tick
	}
	work := p.work
	return tea.Batch(spin, func() tea.Msg { return waitDoneMsg{r: work()} })
}

func (p *waitPage) Update(msg tea.Msg) (tea.Cmd, report) {
	switch msg := msg.(type) {
	case waitDoneMsg:
		return nil, msg.r
	case spinner.TickMsg:
		var cmd tea.Cmd
		p.spinner, cmd = p.spinner.Update(msg)
		return cmd, nil
	}
	return nil, nil
}

func (p *waitPage) View() pageView {
	return pageView{step: p.step, body: p.spinner.View() + " " + p.text}
}

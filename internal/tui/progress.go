package tui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"charm.land/bubbles/v2/progress"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/output"
)

// ProgressInput configures RunProgress.
type ProgressInput struct {
	// Title names the run: "creating 5min-idp", "removing 5min-idp".
	Title string
	// Steps are the plan's step names in order, so waiting steps show from
	// the start. Events of steps not listed add a row.
	Steps []string
	// Run runs the plan, sending every event to sink. Its context is
	// cancelled when the user confirms Ctrl-C. The summary it returns (nil is
	// fine) becomes the summary card.
	Run func(ctx context.Context, sink bootstrap.Sink) (*Summary, error)
	// LogPath is the debug log, shown on the failure card.
	LogPath string
	// Resume is the command that continues an interrupted or failed run.
	Resume string
	// Undo is set for `down`: what was removed stays removed, and Resume
	// removes the rest (rather than resuming a build).
	Undo bool
	// Verbose shows debug log lines in the tail too.
	Verbose bool
	// Now is the clock; nil means time.Now. Tests pin it.
	Now func() time.Time
	// Options are passed to tea.NewProgram (tests: tea.WithInput/WithOutput).
	ProgramOptions []tea.ProgramOption
}

// finishedMsg tells the model the run returned.
type finishedMsg struct {
	summary *Summary
	err     error
}

// interruptMsg is a Ctrl-C, from a key press or from SIGINT.
type interruptMsg struct{}

// ProgramSink adapts a running program to the engine's Sink: every event
// becomes a message of the program. Send blocks until the program takes it
// and is a no-op once the program ended, so the engine never hangs on it.
func ProgramSink(p *tea.Program) bootstrap.Sink {
	return bootstrap.SinkFunc(func(e bootstrap.Event) { p.Send(e) })
}

// RunProgress runs in.Run under the live progress view and returns its
// error. The view ends on the summary card, the failure card, or (after a
// confirmed Ctrl-C) where the run stopped and how to resume; the run is
// always waited for, so the state it saves is complete when this returns.
func RunProgress(ctx context.Context, in ProgressInput) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := newProgressModel(in, cancel, true)
	opts := append([]tea.ProgramOption{
		// SIGINT (when the terminal is not in raw mode) asks like Ctrl-C.
		tea.WithFilter(func(_ tea.Model, msg tea.Msg) tea.Msg {
			if _, ok := msg.(tea.InterruptMsg); ok {
				return interruptMsg{}
			}
			return msg
		}),
	}, in.ProgramOptions...)
	p := tea.NewProgram(m, opts...)

	var runErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		sum, err := in.Run(ctx, ProgramSink(p))
		runErr = err
		p.Send(finishedMsg{summary: sum, err: err})
	}()
	_, perr := p.Run()
	if perr != nil {
		// The screen is gone: stop the run rather than work unseen.
		cancel()
	}
	<-done
	if runErr != nil {
		return runErr
	}
	if perr != nil {
		return fmt.Errorf("terminal UI: %w", perr)
	}
	return nil
}

type stepState int

const (
	waiting stepState = iota
	running
	done
	skipped
	failed
)

type stepRow struct {
	name           string
	state          stepState
	started        time.Time
	elapsed        time.Duration
	action         string
	current, total int
	message, fix   string
}

type logLine struct {
	step, level, text string
}

// maxLogTail bounds the log lines kept and shown: the tail is a glance at
// what is happening, the log file has everything.
const maxLogTail = 6

type progressModel struct {
	title    string
	rows     []*stepRow
	byName   map[string]*stepRow
	logs     []logLine
	minLevel slog.Level

	now        func() time.Time
	start, end time.Time
	cancel     func()

	animate bool
	spinner spinner.Model
	bar     progress.Model

	width, height int

	asking, stopping bool
	finished         bool
	err              error
	summary          *Summary

	logPath, resume string
	undo            bool
}

// newProgressModel builds the model. animate=false keeps the spinner on its
// first frame, which golden tests need.
func newProgressModel(in ProgressInput, cancel func(), animate bool) *progressModel {
	now := in.Now
	if now == nil {
		now = time.Now
	}
	m := &progressModel{
		title:   in.Title,
		byName:  map[string]*stepRow{},
		now:     now,
		start:   now(),
		cancel:  cancel,
		animate: animate,
		spinner: spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(lipgloss.NewStyle().Foreground(accent))),
		bar: progress.New(progress.WithoutPercentage(), progress.WithFillCharacters('█', '░'),
			progress.WithColors(accent)),
		width:   defaultWidth,
		height:  defaultHeight,
		logPath: in.LogPath,
		resume:  in.Resume,
		undo:    in.Undo,
	}
	if in.Verbose {
		m.minLevel = slog.LevelDebug
	}
	for _, s := range in.Steps {
		m.row(s)
	}
	return m
}

func (m *progressModel) row(name string) *stepRow {
	if r, ok := m.byName[name]; ok {
		return r
	}
	r := &stepRow{name: name}
	m.rows = append(m.rows, r)
	m.byName[name] = r
	return r
}

func (m *progressModel) Init() tea.Cmd {
	if m.animate {
		return m.spinner.Tick
	}
	return nil
}

func (m *progressModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case bootstrap.Event:
		m.apply(msg)
	case finishedMsg:
		m.finished, m.asking = true, false
		m.end = m.now()
		m.summary, m.err = msg.summary, msg.err
		return m, tea.Quit
	case interruptMsg:
		m.interrupt()
	case tea.KeyPressMsg:
		if msg.String() == "ctrl+c" {
			m.interrupt()
		} else {
			m.asking = false // any other key: carry on
		}
	case spinner.TickMsg:
		if m.finished {
			return m, nil
		}
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return m, cmd
	}
	return m, nil
}

// interrupt asks once, then cancels the run. The program keeps running until
// the engine returned, so the final frame shows where it really stopped.
func (m *progressModel) interrupt() {
	switch {
	case m.finished, m.stopping:
	case !m.asking:
		m.asking = true
	default:
		m.asking, m.stopping = false, true
		if m.cancel != nil {
			m.cancel()
		}
	}
}

func (m *progressModel) apply(e bootstrap.Event) {
	if e.Time.IsZero() {
		e.Time = m.now()
	}
	r := m.row(e.Step)
	switch e.Kind {
	case bootstrap.Started:
		r.state, r.started, r.action = running, e.Time, e.Message
	case bootstrap.Progress:
		if r.state == waiting {
			r.state, r.started = running, e.Time
		}
		r.current, r.total = e.Current, e.Total
		if e.Message != "" {
			r.action = e.Message
		}
	case bootstrap.Log:
		var lvl slog.Level
		if lvl.UnmarshalText([]byte(e.Level)) != nil {
			lvl = slog.LevelInfo
		}
		if lvl < m.minLevel {
			return
		}
		if r.state == running && lvl >= slog.LevelInfo {
			r.action = e.Message
		}
		m.logs = append(m.logs, logLine{step: e.Step, level: strings.ToUpper(e.Level), text: output.Message(e)})
		if len(m.logs) > maxLogTail {
			m.logs = m.logs[len(m.logs)-maxLogTail:]
		}
	case bootstrap.Done:
		r.state, r.elapsed = done, e.Elapsed
	case bootstrap.Skipped:
		r.state, r.elapsed = skipped, e.Elapsed
	case bootstrap.Failed:
		r.state, r.elapsed, r.message, r.fix = failed, e.Elapsed, e.Message, e.Fix
	}
}

func (m *progressModel) elapsed() time.Duration {
	if m.finished {
		return m.end.Sub(m.start)
	}
	return m.now().Sub(m.start)
}

func (m *progressModel) counts() (fin, skip, fail, run, wait int) {
	for _, r := range m.rows {
		switch r.state {
		case done:
			fin++
		case skipped:
			skip++
		case failed:
			fail++
		case running:
			run++
		default:
			wait++
		}
	}
	return
}

func (m *progressModel) View() tea.View {
	v := tea.NewView(m.render())
	fin, skip, fail, _, _ := m.counts()
	if !m.finished && len(m.rows) > 0 {
		state := tea.ProgressBarDefault
		if fail > 0 {
			state = tea.ProgressBarError
		}
		v.ProgressBar = tea.NewProgressBar(state, 100*(fin+skip)/len(m.rows))
	}
	return v
}

func (m *progressModel) render() string {
	w := max(m.width, 20)
	var right string
	switch {
	case !m.finished:
		right = duration(m.elapsed())
	case m.interrupted():
		right = "stopped after " + duration(m.elapsed())
	case m.err != nil:
		right = "failed after " + duration(m.elapsed())
	default:
		right = "done in " + duration(m.elapsed())
	}
	head := header(m.title, right, w)

	var footer string
	if m.finished {
		footer = m.card(w)
	} else {
		footer = m.footer(w)
	}
	footerH := lipgloss.Height(footer)

	// Steps get what is left after the header, the footer and a few log
	// lines; the log tail gets the rest, up to maxLogTail.
	budget := m.height - 1 - 1 - footerH - 1
	logRoom := 0
	if !m.finished {
		logRoom = min(len(m.logs), 3)
		budget -= logRoom + 1
	}
	steps := m.stepLines(w, max(budget, 1))
	if !m.finished {
		logRoom = min(len(m.logs), maxLogTail, max(m.height-3-footerH-len(steps)-1, 0))
	}

	parts := []string{head, ""}
	parts = append(parts, steps...)
	if logRoom > 0 {
		parts = append(parts, "")
		for _, l := range m.logs[len(m.logs)-logRoom:] {
			parts = append(parts, m.logLineView(l, w))
		}
	}
	parts = append(parts, "", footer)
	return clip(strings.Join(parts, "\n"), w)
}

func (m *progressModel) logLineView(l logLine, w int) string {
	st := subtleStyle
	switch l.level {
	case "WARN":
		st = warnStyle
	case "ERROR":
		st = badStyle
	}
	line := "  " + subtleStyle.Render("│ "+l.step+" ") + st.Render(l.text)
	return ansi.Truncate(line, w, "…")
}

// stepLines renders the step rows in at most budget lines: when they do not
// fit, finished steps collapse into one line first, then the last waiting
// steps into a count. A finished run always collapses: its card matters more.
func (m *progressModel) stepLines(w, budget int) []string {
	nameW := 0
	for _, r := range m.rows {
		nameW = max(nameW, ansi.StringWidth(r.name))
	}
	nameW = min(nameW, 28, max(w/3, 8))

	rows := m.rows
	var lines []string
	if len(rows) > budget || m.finished {
		fin, skip, _, _, _ := m.counts()
		if fin+skip > 0 {
			s := fmt.Sprintf("%d done", fin)
			if skip > 0 {
				s += fmt.Sprintf(" · %d already in place", skip)
			}
			lines = append(lines, okStyle.Render(iconDone)+" "+s)
		}
		var rest []*stepRow
		for _, r := range rows {
			if r.state != done && r.state != skipped {
				rest = append(rest, r)
			}
		}
		rows = rest
	}
	room := budget - len(lines)
	hidden := 0
	if len(rows) > room {
		keep := max(room-1, 0)
		hidden = len(rows) - keep
		rows = rows[:keep]
	}
	for _, r := range rows {
		lines = append(lines, m.stepLine(r, nameW, w))
	}
	if hidden > 0 {
		lines = append(lines, subtleStyle.Render(fmt.Sprintf("%s %d more steps", iconWaiting, hidden)))
	}
	return lines
}

func (m *progressModel) stepLine(r *stepRow, nameW, w int) string {
	const rightW = 7
	name := ansi.Truncate(r.name, nameW, "…")
	name += strings.Repeat(" ", nameW-ansi.StringWidth(name))
	midW := max(w-2-nameW-2-2-rightW, 0)

	var icon, mid, right string
	switch r.state {
	case waiting:
		icon = subtleStyle.Render(iconWaiting)
		name = subtleStyle.Render(name)
		mid = subtleStyle.Render("waiting")
	case running:
		icon = m.spinner.View()
		right = duration(m.now().Sub(r.started))
		mid = m.action(r, midW)
	case done:
		icon = okStyle.Render(iconDone)
		right = duration(r.elapsed)
	case skipped:
		icon = subtleStyle.Render(iconSkipped)
		mid = subtleStyle.Render("already in place")
		right = subtleStyle.Render(duration(r.elapsed))
	case failed:
		icon = badStyle.Render(iconFailed)
		mid = badStyle.UnsetBold().Render(firstLine(r.message))
		if m.interrupted() && strings.HasPrefix(r.message, "interrupted") {
			// Cut short by the user's Ctrl-C: not a failure of the step.
			icon, mid = warnStyle.Render(iconWarn), warnStyle.Render("stopped")
		}
		right = duration(r.elapsed)
	}
	mid = ansi.Truncate(mid, midW, "…")
	mid += strings.Repeat(" ", max(midW-ansi.StringWidth(mid), 0))
	right = strings.Repeat(" ", max(rightW-ansi.StringWidth(right), 0)) + right
	return icon + " " + name + "  " + mid + "  " + right
}

// action is the running step's sub-action, behind a bar when the step knows
// its fraction.
func (m *progressModel) action(r *stepRow, midW int) string {
	if r.total <= 0 {
		return r.action
	}
	frac := fmt.Sprintf(" %d/%d ", r.current, r.total)
	barW := min(20, max(midW/3, 4))
	m.bar.SetWidth(barW)
	pct := float64(r.current) / float64(r.total)
	return m.bar.ViewAs(min(max(pct, 0), 1)) + frac + r.action
}

func (m *progressModel) footer(w int) string {
	switch {
	case m.stopping:
		return warnStyle.Render("Stopping: waiting for the running steps to give up…")
	case m.asking:
		body := "Stop now? Running steps are cancelled; the state is saved"
		switch {
		case m.undo && m.resume != "":
			body = "Stop now? Running steps are cancelled; what is removed stays removed, and `" + m.resume + "` removes the rest"
		case m.resume != "":
			body += " and `" + m.resume + "` resumes"
		}
		body += ".\n" + keyHelp("ctrl+c", "stop", "any key", "continue")
		return askStyle.Width(cardWidth(w)).Render(body)
	default:
		return keyHelp("ctrl+c", "stop")
	}
}

func (m *progressModel) interrupted() bool {
	return m.stopping || errors.Is(m.err, context.Canceled)
}

func (m *progressModel) card(w int) string {
	switch {
	case m.interrupted():
		s := Stopped{Resume: m.resume, LogPath: m.logPath, Total: len(m.rows), Undo: m.undo}
		for _, r := range m.rows {
			switch {
			case r.state == done || r.state == skipped:
				s.Finished++
			case r.state == running || r.state == failed:
				s.Running = append(s.Running, r.name)
			default:
				s.Waiting++
			}
		}
		return RenderStopped(s, w)
	case m.err != nil:
		f := Failure{Error: m.err.Error(), LogPath: m.logPath, Resume: m.resume}
		for _, r := range m.rows {
			if r.state == failed {
				f.Step, f.Error, f.Fix = r.name, r.message, r.fix
				break
			}
		}
		return RenderFailure(f, w)
	case m.summary != nil:
		return RenderSummary(*m.summary, w)
	default:
		return okStyle.Render(iconDone + " All steps finished.")
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

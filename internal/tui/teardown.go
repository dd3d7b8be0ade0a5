package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"
	"github.com/charmbracelet/colorprofile"
)

// TeardownGroup is a kind of thing `down` can remove.
type TeardownGroup string

// The groups, in the order the selection shows them.
const (
	GroupCluster   TeardownGroup = "cluster"
	GroupGitea     TeardownGroup = "gitea"
	GroupHumanitec TeardownGroup = "humanitec"
	// GroupForeign are Humanitec objects on 5min-local that PocketIDP did
	// not create (other apps, the tutorial's class). They are never
	// preselected: only an explicit choice removes them.
	GroupForeign TeardownGroup = "humanitec-foreign"
	GroupCA      TeardownGroup = "ca"
	GroupState   TeardownGroup = "state"
)

var groupOrder = []TeardownGroup{GroupCluster, GroupGitea, GroupHumanitec, GroupForeign, GroupCA, GroupState}

var groupTitles = map[TeardownGroup]string{
	GroupCluster:   "Cluster and containers",
	GroupGitea:     "Gitea content",
	GroupHumanitec: "Humanitec objects of this install",
	GroupForeign:   "Humanitec objects on 5min-local that PocketIDP did not create",
	GroupCA:        "Trusted CA",
	GroupState:     "Local state",
}

func groupTitle(g TeardownGroup) string {
	if t, ok := groupTitles[g]; ok {
		return t
	}
	return string(g)
}

// TeardownItem is one thing that exists now and can be removed.
type TeardownItem struct {
	Group       TeardownGroup
	ID          string
	Description string
	// Objects name, by kind and id, each object the item stands for
	// ("repo 5minorg/backstage"): picking the item removes all of them.
	Objects []string
	// Checked preselects the item. Items of GroupForeign are never
	// preselected, whatever this says.
	Checked bool
}

// TeardownInput is what the selection starts from: what exists now, from the
// state and live checks.
type TeardownInput struct {
	Items []TeardownItem
	// Accessible asks with plain prompts (huh's accessible mode), as does
	// TERM=dumb.
	Accessible bool
	In         io.Reader
	Out        io.Writer
	// ProgramOptions are passed to tea.NewProgram (tests: WithInput/WithOutput).
	ProgramOptions []tea.ProgramOption
}

// RunTeardown lets the user choose what to remove and confirm it. It returns
// the chosen items (in input order) or ErrAborted.
func RunTeardown(ctx context.Context, in TeardownInput) ([]TeardownItem, error) {
	if in.Accessible || os.Getenv("TERM") == "dumb" {
		return runAccessibleTeardown(ctx, in)
	}
	m := newTeardownModel(in.Items)
	final, err := tea.NewProgram(m, append([]tea.ProgramOption{tea.WithContext(ctx)}, in.ProgramOptions...)...).Run()
	if err != nil {
		return nil, fmt.Errorf("teardown selection: %w", err)
	}
	return final.(*teardownModel).result()
}

type tdRow struct {
	group TeardownGroup
	item  int // index into items; -1 for the group's header
}

type teardownModel struct {
	items  []TeardownItem
	rows   []tdRow
	cursor int

	confirming bool
	form       *huh.Form
	yes        bool

	done, aborted bool
	note          string

	width, height int
}

func newTeardownModel(items []TeardownItem) *teardownModel {
	m := &teardownModel{items: slices.Clone(items), width: defaultWidth, height: defaultHeight}
	for i := range m.items {
		if m.items[i].Group == GroupForeign {
			m.items[i].Checked = false
		}
	}
	order := slices.Clone(groupOrder)
	for _, it := range m.items {
		if !slices.Contains(order, it.Group) {
			order = append(order, it.Group)
		}
	}
	for _, g := range order {
		header := false
		for i, it := range m.items {
			if it.Group != g {
				continue
			}
			if !header {
				m.rows = append(m.rows, tdRow{group: g, item: -1})
				header = true
			}
			m.rows = append(m.rows, tdRow{group: g, item: i})
		}
	}
	// Start on the first item rather than a header.
	if len(m.rows) > 1 {
		m.cursor = 1
	}
	return m
}

func (m *teardownModel) result() ([]TeardownItem, error) {
	if !m.done {
		return nil, ErrAborted
	}
	return m.selected(), nil
}

func (m *teardownModel) selected() []TeardownItem {
	var out []TeardownItem
	for _, it := range m.items {
		if it.Checked {
			out = append(out, it)
		}
	}
	return out
}

func (m *teardownModel) Init() tea.Cmd { return nil }

func (m *teardownModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if size, ok := msg.(tea.WindowSizeMsg); ok {
		m.width, m.height = size.Width, size.Height
		if m.form != nil {
			m.fitForm()
		}
		return m, nil
	}
	if m.confirming {
		return m.updateConfirm(msg)
	}
	key, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return m, nil
	}
	m.note = ""
	switch key.String() {
	case "ctrl+c", "esc", "q":
		m.aborted = true
		return m, tea.Quit
	case "up", "k":
		m.cursor = max(m.cursor-1, 0)
	case "down", "j":
		m.cursor = min(m.cursor+1, len(m.rows)-1)
	case "space", "x":
		m.toggle()
	case "a":
		m.setAll(true)
	case "n":
		m.setAll(false)
	case "enter":
		return m.toConfirm()
	}
	return m, nil
}

// toggle flips the item under the cursor; on a header, it checks the whole
// group unless all of it is checked already.
func (m *teardownModel) toggle() {
	if len(m.rows) == 0 {
		return
	}
	r := m.rows[m.cursor]
	if r.item >= 0 {
		m.items[r.item].Checked = !m.items[r.item].Checked
		return
	}
	all := true
	for _, it := range m.items {
		if it.Group == r.group && !it.Checked {
			all = false
		}
	}
	for i := range m.items {
		if m.items[i].Group == r.group {
			m.items[i].Checked = !all
		}
	}
}

// setAll checks or clears everything of this install. Foreign objects are
// left as they are: they are only ever chosen one by one or by their header.
func (m *teardownModel) setAll(v bool) {
	for i := range m.items {
		if m.items[i].Group != GroupForeign {
			m.items[i].Checked = v
		}
	}
}

func (m *teardownModel) toConfirm() (tea.Model, tea.Cmd) {
	sel := m.selected()
	if len(sel) == 0 {
		m.note = "Nothing is selected: choose with space, or q to leave."
		return m, nil
	}
	m.confirming, m.yes = true, false
	confirm := huh.NewConfirm().Key("remove").
		Title(fmt.Sprintf("Remove %s?", plural(len(sel), "object", "objects"))).
		Affirmative("Remove").Negative("Back").Value(&m.yes)
	var foreign []string
	for _, it := range sel {
		if it.Group == GroupForeign {
			foreign = append(foreign, it.Description)
		}
	}
	if len(foreign) > 0 {
		confirm.Description(fmt.Sprintf("Including %s that PocketIDP did not create: %s.",
			plural(len(foreign), "Humanitec object", "Humanitec objects"), strings.Join(foreign, ", ")))
	}
	m.form = huh.NewForm(huh.NewGroup(confirm)).WithShowHelp(true).WithTheme(formTheme)
	m.fitForm()
	return m, m.form.Init()
}

// fitForm sizes the confirm to the screen left under the selection summary.
func (m *teardownModel) fitForm() {
	w := cardWidth(m.width)
	m.form.WithWidth(w)
	m.form.Update(tea.WindowSizeMsg{Width: w, Height: max(m.height-len(m.summaryLines(w))-4, 5)})
}

func (m *teardownModel) updateConfirm(msg tea.Msg) (tea.Model, tea.Cmd) {
	f, cmd := m.form.Update(msg)
	m.form = f.(*huh.Form)
	switch m.form.State {
	case huh.StateAborted:
		m.aborted, m.form = true, nil
		return m, tea.Quit
	case huh.StateCompleted:
		m.confirming, m.form = false, nil
		if m.yes {
			m.done = true
			return m, tea.Quit
		}
	}
	return m, cmd
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (m *teardownModel) View() tea.View { return tea.NewView(m.render()) }

func (m *teardownModel) render() string {
	w := cardWidth(m.width)
	n := len(m.selected())
	switch {
	case m.done:
		return clip(fmt.Sprintf("%s Removing %s.", okStyle.Render(iconDone), plural(n, "object", "objects")), w)
	case m.aborted:
		return clip(subtleStyle.Render("Cancelled: nothing was removed."), w)
	}
	parts := []string{header("remove", fmt.Sprintf("%d of %d selected", n, len(m.items)), w), ""}
	if m.confirming {
		parts = append(parts, m.summaryLines(w)...)
		parts = append(parts, "", m.form.View())
		return clip(strings.Join(parts, "\n"), w)
	}
	list, at := m.listLines(w)
	// Keep the cursor in view when the list is taller than the screen.
	room := max(m.height-len(parts)-3, 3)
	if len(list) > room {
		start := min(max(at-room/2, 0), len(list)-room)
		list = list[start : start+room]
	}
	parts = append(parts, list...)
	parts = append(parts, "")
	if m.note != "" {
		parts = append(parts, warnStyle.Render(m.note))
	}
	parts = append(parts, keyHelp("↑/↓", "move", "space", "select", "a/n", "all/none", "enter", "remove", "q", "quit"))
	return clip(strings.Join(parts, "\n"), w)
}

// listLines are the list's lines, each object of an item on its own line
// under it, and the index of the cursor's line.
func (m *teardownModel) listLines(w int) (lines []string, at int) {
	for i, r := range m.rows {
		cur := "  "
		if i == m.cursor {
			cur = sectionStyle.Render("> ")
			at = len(lines)
		}
		if r.item < 0 {
			title := sectionStyle.Render(groupTitle(r.group))
			if r.group == GroupForeign {
				title = warnStyle.Bold(true).Render(groupTitle(r.group))
			}
			lines = append(lines, cur+title)
			continue
		}
		it := m.items[r.item]
		box := "[ ]"
		if it.Checked {
			box = okStyle.Render("[x]")
		}
		lines = append(lines, fmt.Sprintf("%s  %s %s", cur, box, it.Description))
		for _, o := range it.Objects {
			lines = append(lines, subtleStyle.Render("         "+o))
		}
	}
	return lines, at
}

// summaryLines say on the confirm page what is removed and what is kept,
// item by item, with the ids of the objects each stands for.
func (m *teardownModel) summaryLines(w int) []string {
	var remove, keep []string
	for _, r := range m.rows {
		if r.item < 0 {
			continue
		}
		it := m.items[r.item]
		line := "  " + ansiTruncate(it.Description, w-2)
		if !it.Checked {
			keep = append(keep, line)
			continue
		}
		remove = append(remove, line)
		for _, o := range it.Objects {
			remove = append(remove, subtleStyle.Render(ansiTruncate("      "+o, w)))
		}
	}
	lines := append([]string{sectionStyle.Render("Remove")}, remove...)
	if len(keep) > 0 {
		lines = append(lines, sectionStyle.Render("Keep"))
		lines = append(lines, keep...)
	}
	return lines
}

// runAccessibleTeardown asks with huh's accessible prompts: a numbered
// multi-select, then the confirm naming the count.
func runAccessibleTeardown(ctx context.Context, in TeardownInput) ([]TeardownItem, error) {
	w, r := in.Out, in.In
	if w == nil {
		w = os.Stdout
	}
	if r == nil {
		r = os.Stdin
	}
	w = colorprofile.NewWriter(w, os.Environ())
	m := newTeardownModel(in.Items)
	var opts []huh.Option[int]
	var chosen []int
	for _, row := range m.rows {
		if row.item < 0 {
			continue
		}
		it := m.items[row.item]
		label := groupTitle(it.Group) + ": " + it.Description
		if len(it.Objects) > 0 {
			label += " (" + strings.Join(it.Objects, ", ") + ")"
		}
		opts = append(opts, huh.NewOption(label, row.item).Selected(it.Checked))
		if it.Checked {
			chosen = append(chosen, row.item)
		}
	}
	ask := func(f huh.Field) error {
		err := huh.NewForm(huh.NewGroup(f)).WithAccessible(true).WithInput(r).WithOutput(w).RunWithContext(ctx)
		if errors.Is(err, huh.ErrUserAborted) {
			return ErrAborted
		}
		return err
	}
	if err := ask(huh.NewMultiSelect[int]().Title("What should be removed? (a number checks or unchecks that line; 0 when done)").Options(opts...).Value(&chosen)); err != nil {
		return nil, err
	}
	for i := range m.items {
		m.items[i].Checked = slices.Contains(chosen, i)
	}
	sel := m.selected()
	if len(sel) == 0 {
		return nil, ErrAborted
	}
	yes := false
	if err := ask(huh.NewConfirm().Title(fmt.Sprintf("Remove %s? (y: remove them, n: remove nothing)", plural(len(sel), "object", "objects"))).Value(&yes)); err != nil {
		return nil, err
	}
	if !yes {
		return nil, ErrAborted
	}
	return sel, nil
}

// TeardownList is what a `down --yes` removes (the checked items) and
// what it leaves, each object by its id, in plain lines for its log: a
// script's run says as much as the selection screen.
func TeardownList(items []TeardownItem) string {
	var remove, leave, foreign []string
	for _, g := range groupOrder {
		for _, it := range items {
			if it.Group != g {
				continue
			}
			lines := []string{"  " + groupTitle(g) + ": " + it.Description}
			for _, o := range it.Objects {
				lines = append(lines, "      "+o)
			}
			switch {
			case it.Checked:
				remove = append(remove, lines...)
			case g == GroupForeign:
				foreign = append(foreign, lines...)
			default:
				leave = append(leave, lines...)
			}
		}
	}
	var b strings.Builder
	if len(remove) > 0 {
		b.WriteString("Removing:\n" + strings.Join(remove, "\n") + "\n")
	}
	if len(leave) > 0 {
		b.WriteString("Left in place:\n" + strings.Join(leave, "\n") + "\n")
	}
	if len(foreign) > 0 {
		b.WriteString("Left in place, as PocketIDP did not create them (--include-tutorial-objects removes them):\n" +
			strings.Join(foreign, "\n") + "\n")
	}
	return b.String()
}

package tui

import (
	"fmt"
	"io"
	"strings"
	"time"

	"charm.land/huh/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
)

// Colours are the terminal's own 16 ANSI colours, so the user's theme (light
// or dark) decides the exact shades and nothing needs a background query.
var (
	accent  = lipgloss.Magenta
	okC     = lipgloss.Green
	warnC   = lipgloss.Yellow
	badC    = lipgloss.Red
	subtleC = lipgloss.BrightBlack
	linkC   = lipgloss.Cyan
)

var (
	badgeStyle   = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.BrightWhite).Background(accent).Padding(0, 1)
	titleStyle   = lipgloss.NewStyle().Bold(true)
	subtleStyle  = lipgloss.NewStyle().Foreground(subtleC)
	okStyle      = lipgloss.NewStyle().Foreground(okC)
	warnStyle    = lipgloss.NewStyle().Foreground(warnC)
	badStyle     = lipgloss.NewStyle().Foreground(badC).Bold(true)
	linkStyle    = lipgloss.NewStyle().Foreground(linkC).Underline(true)
	keyStyle     = lipgloss.NewStyle().Bold(true)
	sectionStyle = lipgloss.NewStyle().Bold(true).Foreground(accent)
	cardStyle    = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(okC).Padding(0, 1)
	badCardStyle = cardStyle.BorderForeground(badC)
	askStyle     = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(warnC).Padding(0, 1)
)

// Icons of a step or check state. They are plain Unicode (no Nerd Font).
const (
	iconDone    = "✓"
	iconFailed  = "✗"
	iconSkipped = "–"
	iconWaiting = "·"
	iconWarn    = "!"
)

// Sizes used until the terminal reports its own, and the widest card: long
// lines are hard to read even on a wide terminal.
const (
	defaultWidth  = 80
	defaultHeight = 24
	maxCardWidth  = 78
)

// header is the first line of every screen: the badge, a title and, on the
// right, something short such as the elapsed time.
func header(title, right string, width int) string {
	left := badgeStyle.Render("PocketIDP") + " " + titleStyle.Render(title)
	gap := width - lipgloss.Width(left) - lipgloss.Width(right)
	if gap < 1 {
		return clip(left, width)
	}
	return left + strings.Repeat(" ", gap) + subtleStyle.Render(right)
}

// clip cuts every line of s to width cells so a narrow terminal never wraps
// a line (a wrapped line breaks the inline renderer's line count).
func clip(s string, width int) string {
	if width <= 0 {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if ansi.StringWidth(l) > width {
			lines[i] = ansi.Truncate(l, width, "…")
		}
	}
	return strings.Join(lines, "\n")
}

// keyHelp renders "key action" pairs as a help line.
func keyHelp(pairs ...string) string {
	var parts []string
	for i := 0; i+1 < len(pairs); i += 2 {
		parts = append(parts, keyStyle.Render(pairs[i])+" "+subtleStyle.Render(pairs[i+1]))
	}
	return strings.Join(parts, subtleStyle.Render(" • "))
}

// duration formats a step duration the way people read it: 0.4s, 12s, 2m05s.
func duration(d time.Duration) string {
	switch {
	case d < 0:
		d = 0
		fallthrough
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second).Seconds()))
	default:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
}

// cardWidth is the outer width of a card on a terminal this wide.
func cardWidth(width int) int {
	if width <= 0 {
		width = defaultWidth
	}
	return min(width, maxCardWidth)
}

// Print writes a rendered view (a card, the status) to w with the colours w
// can show: none at all for a pipe, a file or NO_COLOR, downsampled for
// terminals with fewer colours. environ is usually os.Environ().
func Print(w io.Writer, environ []string, s string) error {
	cw := colorprofile.NewWriter(w, environ)
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		// Lip Gloss pads wrapped blocks to their width; a copy-paste from
		// the terminal should not carry the blanks.
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err := io.WriteString(cw, strings.Join(lines, "\n")+"\n")
	return err
}

// formTheme is huh's Charm theme with the focused button marked by text
// (› Create ‹) as well as by colour: with NO_COLOR, or on a terminal
// without colour, the choice enter takes must still be visible. The other
// button gets the same width in blanks, so nothing moves.
var formTheme = huh.ThemeFunc(func(isDark bool) *huh.Styles {
	t := huh.ThemeCharm(isDark)
	marked := lipgloss.Border{Left: "›", Right: "‹"}
	blank := lipgloss.Border{Left: " ", Right: " "}
	t.Focused.FocusedButton = t.Focused.FocusedButton.Border(marked, false, true, false, true)
	t.Focused.BlurredButton = t.Focused.BlurredButton.Border(blank, false, true, false, true)
	t.Blurred.FocusedButton = t.Blurred.FocusedButton.Border(marked, false, true, false, true)
	t.Blurred.BlurredButton = t.Blurred.BlurredButton.Border(blank, false, true, false, true)
	// A note's one button is always the one enter takes.
	t.Focused.Next = t.Focused.FocusedButton
	return t
})

package tui

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"
)

// Health of a component, as `status` found it.
type Health string

// The healths: healthy answers, degraded answers badly, missing is not there,
// unknown could not be checked (e.g. the engine is down).
const (
	Healthy  Health = "healthy"
	Degraded Health = "degraded"
	Missing  Health = "missing"
	Unknown  Health = "unknown"
)

// Component is one line of the status view.
type Component struct {
	Name   string `json:"name"`
	Health Health `json:"health"`
	Detail string `json:"detail"`
}

// Link is a named URL, with the login when there is one.
type Link struct {
	Name  string `json:"name"`
	URL   string `json:"url"`
	Login string `json:"login,omitempty"`
	// Answer is what a request to URL got just now ("HTTP 200", or why
	// there was none); empty when it was not asked. Answers is true for
	// an answer below 400.
	Answer  string `json:"answer,omitempty"`
	Answers bool   `json:"answers"`
}

// Status is what `pocketidp status` found.
// Its JSON (`status -o json`) uses the same lowercase names as every other
// JSON PocketIDP writes, and lists are never null.
type Status struct {
	Installed  bool        `json:"installed"`
	InstallID  string      `json:"install_id,omitempty"`
	Name       string      `json:"name"`
	StateDir   string      `json:"state_dir"`
	Components []Component `json:"components"`
	URLs       []Link      `json:"urls"`
}

// Problems names what is not healthy: components degraded or missing, and
// URLs that do not answer. Unknown is not a problem (a step not run yet,
// Humanitec skipped). Not installed is one.
func (s Status) Problems() []string {
	if !s.Installed {
		return []string{"nothing is installed in " + s.StateDir}
	}
	var out []string
	for _, c := range s.Components {
		if c.Health == Degraded || c.Health == Missing {
			out = append(out, c.Name+" "+string(c.Health))
		}
	}
	for _, l := range s.URLs {
		if l.Answer != "" && !l.Answers {
			out = append(out, l.Name+" does not answer at "+l.URL)
		}
	}
	return out
}

// RenderStatus draws the one-screen status view. It is a pure function of s,
// so `status` prints it in text mode and tests golden it.
func RenderStatus(s Status, width int) string {
	w := cardWidth(width)
	var b strings.Builder
	if !s.Installed {
		fmt.Fprintln(&b, header("status", "", w))
		fmt.Fprintln(&b)
		fmt.Fprintf(&b, "No install in %s: run %s to create one.\n", s.StateDir, keyStyle.Render("pocketidp up"))
		return clip(strings.TrimRight(b.String(), "\n"), w)
	}
	right := ""
	if s.InstallID != "" {
		right = "install " + s.InstallID
	}
	fmt.Fprintln(&b, header("status of "+s.Name, right, w))
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, sectionStyle.Render("Components"))
	nameW := 0
	for _, c := range s.Components {
		nameW = max(nameW, lipgloss.Width(c.Name))
	}
	healthy := 0
	for _, c := range s.Components {
		icon, st := healthIcon(c.Health)
		if c.Health == Healthy {
			healthy++
		}
		health := st.Render(fmt.Sprintf("%-8s", c.Health))
		line := fmt.Sprintf("  %s %-*s  %s  %s", st.Render(icon), nameW, c.Name, health, subtleStyle.Render(c.Detail))
		fmt.Fprintln(&b, strings.TrimRight(line, " "))
	}
	fmt.Fprintf(&b, "  %s\n", subtleStyle.Render(fmt.Sprintf("%d of %d healthy", healthy, len(s.Components))))
	if len(s.URLs) > 0 {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, sectionStyle.Render("URLs"))
		linkW := 0
		for _, l := range s.URLs {
			linkW = max(linkW, lipgloss.Width(l.Name))
		}
		for _, l := range s.URLs {
			line := fmt.Sprintf("  %-*s  %s", linkW, l.Name, linkStyle.Render(l.URL))
			if l.Login != "" {
				line += subtleStyle.Render("  login " + l.Login)
			}
			// The answer goes under the URL: app URLs are long.
			pad := strings.Repeat(" ", 2+linkW+2)
			switch {
			case l.Answer == "":
			case l.Answers:
				line += "\n" + pad + okStyle.Render(iconDone+" answers: "+l.Answer)
			default:
				line += "\n" + pad + warnStyle.Render(iconWarn+" "+l.Answer)
			}
			fmt.Fprintln(&b, line)
		}
	}
	if s.StateDir != "" {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, subtleStyle.Render("state "+s.StateDir))
	}
	return clip(strings.TrimRight(b.String(), "\n"), w)
}

func healthIcon(h Health) (string, lipgloss.Style) {
	switch h {
	case Healthy:
		return iconDone, okStyle
	case Degraded:
		return iconWarn, warnStyle
	case Missing:
		return iconFailed, badStyle
	default:
		return "?", subtleStyle
	}
}

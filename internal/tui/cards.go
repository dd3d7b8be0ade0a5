package tui

import (
	"cmp"
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/config"
)

// Login is one user name and password shown on the summary card.
type Login struct {
	Service  string
	User     string
	Password string
}

// Summary is what the summary card shows after a successful `up`.
type Summary struct {
	InstallID string
	// Port is the host port of the ingress; URLs are built with it.
	Port int
	// BackstageURL is empty until the orchestrator reported it.
	BackstageURL string
	Logins       []Login
	// HumanitecOrg and HumanitecApps are empty when Humanitec was skipped.
	HumanitecOrg  string
	HumanitecApps []string
	// SkippedHumanitec says the registration was not part of this run.
	SkippedHumanitec bool
	// OrchestratorURL is PocketIDP's local orchestrator's page when it is
	// the install's orchestrator (HumanitecOrg is then its org); empty
	// with Humanitec.
	OrchestratorURL string
	// Coder mode adds the port-forward line; Workspace is $CODER_WORKSPACE_NAME.
	Coder     bool
	Workspace string
	// ForwardPort is the workspace port the ingress also answers on, where
	// the port-forward ends (443); zero means Port.
	ForwardPort int
	LogPath     string
}

// GiteaURL is the address of Gitea through the ingress.
func (s Summary) GiteaURL() string { return config.GiteaURL(s.Port) }

// ActionsURL is the Actions page of the Backstage repository, where its
// build runs.
func (s Summary) ActionsURL() string { return bootstrap.ActionsURL(s.Port) }

// RenderSummary draws the summary card: where everything is and how to log
// in, so the learner can follow the course text from here.
func RenderSummary(s Summary, width int) string {
	w := cardWidth(width)
	inner := w - cardStyle.GetHorizontalFrameSize()
	value := lipgloss.NewStyle().Width(max(inner-12, 10))
	row := func(label, v string) string {
		return indentAfter(fmt.Sprintf("%-11s ", label), value.Render(v))
	}
	var b strings.Builder
	fmt.Fprintln(&b, okStyle.Bold(true).Render(iconDone+" PocketIDP is up")+subtleStyle.Render(idSuffix(s.InstallID)))
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, row("Gitea", linkStyle.Render(s.GiteaURL())))
	switch {
	case s.BackstageURL != "":
		fmt.Fprintln(&b, row("Backstage", linkStyle.Render(s.BackstageURL)))
	case s.SkippedHumanitec:
		fmt.Fprintln(&b, row("Backstage", subtleStyle.Render("not deployed: the orchestrator was skipped (--skip-humanitec), and the orchestrator deploys it")))
	default:
		fmt.Fprintln(&b, row("Backstage", subtleStyle.Render("being built by the first CI run of "+config.DefaultGiteaOrg+
			"/backstage: follow it at ")+linkStyle.Render(s.ActionsURL())+subtleStyle.Render("; run `pocketidp up` again when it is done for its URL, or `pocketidp up --wait` to wait")))
	}
	for _, l := range s.Logins {
		fmt.Fprintln(&b, row(l.Service+" login", l.User+" / "+l.Password))
	}
	if !s.SkippedHumanitec && s.OrchestratorURL != "" {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, row("Orchestr.", linkStyle.Render(s.OrchestratorURL)))
		fmt.Fprintln(&b, row("", "PocketIDP's local orchestrator: org "+s.HumanitecOrg+", environment type "+config.EnvType))
		for _, app := range s.HumanitecApps {
			fmt.Fprintln(&b, row("", "app "+app+" (env "+config.EnvType+")"))
		}
		fmt.Fprintln(&b, subtleStyle.Width(inner).Render("For humctl and Terraform (instead of humctl login): eval \"$(pocketidp env --show-token)\""))
	} else if !s.SkippedHumanitec && s.HumanitecOrg != "" {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, row("Humanitec", "org "+s.HumanitecOrg+", environment type "+config.EnvType))
		for _, app := range s.HumanitecApps {
			fmt.Fprintln(&b, row("", "app "+app+" (env "+config.EnvType+")"))
		}
		fmt.Fprintln(&b, subtleStyle.Width(inner).Render(fmt.Sprintf(
			"Links from the Humanitec UI lack the port: add :%d to them (https://<app>.localhost:%d).", s.Port, s.Port)))
	}
	if s.Coder {
		ws := s.Workspace
		if ws == "" {
			ws = "<workspace>"
		}
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, "From your machine, forward the port, then open the URLs above:")
		fmt.Fprintln(&b, "  "+keyStyle.Render(fmt.Sprintf("coder port-forward %s --tcp %d:%d", ws, s.Port, cmp.Or(s.ForwardPort, s.Port))))
	}
	if s.LogPath != "" {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, row("Log", s.LogPath))
	}
	return cardStyle.Width(w).Render(strings.TrimRight(b.String(), "\n"))
}

func idSuffix(id string) string {
	if id == "" {
		return ""
	}
	return "  install " + id
}

// Failure is what the failure card shows.
type Failure struct {
	Step  string
	Error string
	Fix   string
	// LogPath is the full debug log of the run.
	LogPath string
	// Resume is the command that picks up where the run stopped.
	Resume string
}

// RenderFailure draws the failure card: which step, what it said, what to do.
func RenderFailure(f Failure, width int) string {
	w := cardWidth(width)
	inner := w - badCardStyle.GetHorizontalFrameSize()
	wrap := lipgloss.NewStyle().Width(max(inner-6, 10))
	var b strings.Builder
	title := iconFailed + " Step " + f.Step + " failed"
	if f.Step == "" {
		title = iconFailed + " Failed"
	}
	fmt.Fprintln(&b, badStyle.Render(title))
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, indentAfter("error ", wrap.Render(f.Error)))
	if f.Fix != "" {
		fmt.Fprintln(&b, indentAfter("fix   ", wrap.Render(f.Fix)))
	}
	if f.LogPath != "" {
		fmt.Fprintln(&b, indentAfter("log   ", wrap.Render(f.LogPath)))
	}
	if f.Resume != "" {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, subtleStyle.Width(inner).Render("Finished steps are kept: after the fix, run `"+f.Resume+"` again and it continues from here."))
	}
	return badCardStyle.Width(w).Render(strings.TrimRight(b.String(), "\n"))
}

// Stopped is what the card after a Ctrl-C shows.
type Stopped struct {
	// Running are the steps that were cut short; Waiting never started.
	Running []string
	Waiting int
	// Finished counts done and skipped steps out of Total.
	Finished, Total int
	Resume          string
	LogPath         string
	// Undo is set for `down`: running Resume again removes the rest.
	Undo bool
}

// RenderStopped draws where an interrupted run stopped and how to resume.
func RenderStopped(s Stopped, width int) string {
	w := cardWidth(width)
	inner := w - askStyle.GetHorizontalFrameSize()
	var b strings.Builder
	fmt.Fprintln(&b, warnStyle.Bold(true).Render(iconWarn+" Stopped"))
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "finished  %d of %d steps\n", s.Finished, s.Total)
	if len(s.Running) > 0 {
		fmt.Fprintln(&b, indentAfter("stopped   ", lipgloss.NewStyle().Width(max(inner-10, 10)).Render(strings.Join(s.Running, ", "))))
	}
	if s.Waiting > 0 {
		fmt.Fprintf(&b, "not begun %d steps\n", s.Waiting)
	}
	if s.LogPath != "" {
		fmt.Fprintln(&b, indentAfter("log       ", lipgloss.NewStyle().Width(max(inner-10, 10)).Render(s.LogPath)))
	}
	if s.Resume != "" {
		fmt.Fprintln(&b)
		next := "The state is saved. Run `" + s.Resume + "` to resume: finished steps are skipped."
		if s.Undo {
			next = "What is removed stays removed. Run `" + s.Resume + "` again to remove the rest."
		}
		fmt.Fprintln(&b, lipgloss.NewStyle().Width(inner).Render(next))
	}
	return askStyle.Width(w).Render(strings.TrimRight(b.String(), "\n"))
}

// indentAfter prefixes the first line of s with label and indents the others
// to line up under it.
func indentAfter(label, s string) string {
	pad := strings.Repeat(" ", lipgloss.Width(label))
	lines := strings.Split(s, "\n")
	for i := range lines {
		if i == 0 {
			lines[i] = label + lines[i]
		} else {
			lines[i] = pad + lines[i]
		}
	}
	return strings.Join(lines, "\n")
}

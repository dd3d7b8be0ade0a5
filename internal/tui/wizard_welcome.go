package tui

import (
	"cmp"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/pocketidp/pocketidp/internal/config"
)

// welcomePage says what PocketIDP will build. Enter starts (startReport);
// esc and q leave (abortReport).
type welcomePage struct {
	opts  config.Options
	width int
}

func newWelcomePage(o config.Options) *welcomePage {
	return &welcomePage{opts: o, width: defaultWidth}
}

func (p *welcomePage) Init() tea.Cmd { return nil }

func (p *welcomePage) Update(msg tea.Msg) (tea.Cmd, report) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		p.width = msg.Width
	case tea.KeyPressMsg:
		switch msg.String() {
		case "enter":
			return nil, startReport{}
		case "esc", "q":
			return nil, abortReport{}
		}
	}
	return nil, nil
}

func (p *welcomePage) View() pageView {
	return pageView{
		step: 0,
		body: welcomeText(p.opts, cardWidth(p.width)),
		foot: "\n" + keyHelp("enter", "start", "ctrl+c", "quit"),
	}
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

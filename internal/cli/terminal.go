package cli

import (
	"github.com/spf13/cobra"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/tui"
)

// bareNeedsTerminal refuses a bare `pocketidp` that cannot open its wizard
// (no terminal on stdin or stdout, Coder, CI, JSON) unless --yes says to
// install without asking: `pocketidp | less` must not install unasked.
// Decided before any Bubble Tea program starts. `pocketidp up` is the
// headless command and keeps running without a terminal.
func (a *app) bareNeedsTerminal(cmd *cobra.Command, mode tui.Mode) error {
	if cmd.HasParent() || mode.Asks() || a.flags.yes {
		return nil
	}
	why := "there is no terminal to ask on"
	switch {
	case a.flags.output == "json":
		why = "-o json asks nothing"
	case a.env.IsTTY && !a.env.StdinTTY:
		why = "stdin is not a terminal (is it redirected?)"
	case tui.SelectMode(tui.ModeInput{IsTTY: true, Getenv: a.env.Getenv}) == tui.Plain:
		why = "under Coder or CI nothing is asked"
	}
	return &config.InputError{
		Msg:  "pocketidp without a command opens the setup wizard, and " + why + "; nothing was created",
		Hint: "run it on a terminal, or `pocketidp up --yes` to install with flags and environment only",
	}
}

package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/charts"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/output"
	"github.com/pocketidp/pocketidp/internal/tui"
)

// writeJSON writes v as indented JSON: the -o json of every command.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// prepare resolves and validates the options and opens the debug log.
func (a *app) prepare(cmd *cobra.Command, validate bool) (*bootstrap.Install, func(), error) {
	a.cmdName = cmd.Name()
	o, err := a.options(cmd)
	if err != nil {
		return nil, nil, err
	}
	if validate {
		// Without org and token (--yes too), the install's orchestrator is
		// PocketIDP's local one (Options.LocalOrchestrator).
		if o.Wait && o.SkipHumanitec && cmd.Flags().Changed("wait") {
			a.warn("--wait is ignored: the orchestrator is skipped, and Backstage is deployed by the orchestrator, so there is nothing to wait for")
		}
		if err := o.Validate(); config.IsInput(err) {
			// Reported with the pre-flight checks' findings: the user
			// fixes everything in one go.
			a.inputErr = err
		} else if err != nil {
			return nil, nil, err
		}
	} else if o.Output != "text" && o.Output != "json" {
		return nil, nil, &config.InputError{Msg: fmt.Sprintf("output %q is not known", o.Output), Hint: "use -o text or -o json"}
	}
	log, closeLog, err := a.openLog(cmd.Name(), o)
	if err != nil {
		return nil, nil, err
	}
	in := &bootstrap.Install{Options: o, Host: a.env.Host, Log: log}
	in.Orchestrator.Binary = a.flags.orchestratorBinary
	in.Gitea.URL = a.env.bed.giteaURL
	if a.env.bed.hooksOnly {
		in.Charts.Wait = charts.WaitHooksOnly
	}
	return in, closeLog, nil
}

// openLog opens the full debug log that every run writes, through the
// redactor so no secret reaches it.
func (a *app) openLog(cmdName string, o config.Options) (*slog.Logger, func(), error) {
	path := o.LogFile
	if path == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		path = filepath.Join(dir, "pocketidp", "logs", fmt.Sprintf("%s-%s.log", cmdName, a.env.Now().Format("20060102-150405")))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, &config.InputError{Msg: fmt.Sprintf("create log dir: %v", err), Hint: "pass --log-file with a writable path"}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, &config.InputError{Msg: fmt.Sprintf("open log file: %v", err), Hint: "pass --log-file with a writable path"}
	}
	a.logPath = path
	log := slog.New(slog.NewTextHandler(a.redactor.Writer(f), &slog.HandlerOptions{Level: slog.LevelDebug}))
	log.Info("pocketidp start", "command", cmdName, "options", o)
	return log, func() { f.Close() }, nil
}

// sink is the renderer the options ask for.
func (a *app) sink(o config.Options) bootstrap.Sink {
	lvl := slog.LevelInfo
	if a.flags.verbose {
		lvl = slog.LevelDebug
	}
	w := a.redactor.Writer(a.env.Stdout)
	if o.Output == "json" {
		return &output.JSON{W: w, MinLevel: lvl}
	}
	// No colour for screen readers, nor for terminals that cannot show it.
	color := a.env.IsTTY && a.mode() != tui.Accessible && a.env.Getenv("TERM") != "dumb"
	return &output.Text{W: w, Color: color, MinLevel: lvl}
}

func (a *app) runner(in *bootstrap.Install, sink bootstrap.Sink, status bootstrap.StatusStore) *bootstrap.Runner {
	redact := a.redactor.Redact
	if in.Options.LocalOrchestrator() {
		// The local orchestrator's token is made by a step: masked from
		// the moment the state holds it.
		redact = func(s string) string {
			if _, tok, _, ok := in.LocalOrchestratorAccess(); ok {
				a.redactor.Add(tok)
			}
			return a.redactor.Redact(s)
		}
	}
	return &bootstrap.Runner{Sink: sink, Status: status, Redact: redact, Log: in.Log, Concurrency: 6}
}

// mode is how this run talks to the user (it may ask on a terminal, with no
// --yes, not under Coder or CI, with text output). Decided before any
// Bubble Tea program starts.
func (a *app) mode() tui.Mode {
	return tui.SelectMode(tui.ModeInput{IsTTY: a.env.IsTTY && a.env.StdinTTY, Yes: a.flags.yes, Output: a.flags.output, Getenv: a.env.Getenv})
}

func (a *app) programOptions() []tea.ProgramOption {
	return []tea.ProgramOption{tea.WithInput(a.env.Stdin), tea.WithOutput(a.env.Stdout)}
}

package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/doctor"
	"github.com/pocketidp/pocketidp/internal/output"
	"github.com/pocketidp/pocketidp/internal/state"
)

// version is stamped by the Makefile (-X); a plain `go build` reports the
// module version or "dev".
var version = ""

func (a *app) runVersion(cmd *cobra.Command, _ []string) error {
	v := version
	if v == "" {
		v = "dev"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	info := struct {
		Version string `json:"version"`
		Go      string `json:"go"`
		OS      string `json:"os"`
		Arch    string `json:"arch"`
	}{v, runtime.Version(), runtime.GOOS, runtime.GOARCH}
	if a.flags.output == "json" {
		return writeJSON(a.env.Stdout, info)
	}
	fmt.Fprintf(a.env.Stdout, "pocketidp %s (%s %s/%s)\n", info.Version, info.Go, info.OS, info.Arch)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// prepare resolves and validates the options and opens the debug log.
func (a *app) prepare(cmd *cobra.Command, validate bool) (*bootstrap.Install, func(), error) {
	o, err := a.options(cmd)
	if err != nil {
		return nil, nil, err
	}
	if validate {
		if o.Headless && o.Yes && o.HumanitecOrg == "" && o.HumanitecToken.Empty() && !o.SkipHumanitec {
			// SPEC §3: --yes without org and token builds everything else.
			o.SkipHumanitec = true
		}
		if err := o.Validate(); err != nil {
			return nil, nil, err
		}
	} else if o.Output != "text" && o.Output != "json" {
		return nil, nil, &config.InputError{Msg: fmt.Sprintf("output %q is not known", o.Output), Hint: "use -o text or -o json"}
	}
	log, closeLog, err := a.openLog(cmd.Name(), o)
	if err != nil {
		return nil, nil, err
	}
	return &bootstrap.Install{Options: o, Host: a.env.Host, Log: log}, closeLog, nil
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
	return &output.Text{W: w, Color: a.env.IsTTY, MinLevel: lvl}
}

func (a *app) runner(in *bootstrap.Install, sink bootstrap.Sink, status bootstrap.StatusStore) *bootstrap.Runner {
	return &bootstrap.Runner{Sink: sink, Status: status, Redact: a.redactor.Redact, Log: in.Log, Concurrency: 6}
}

func (a *app) runUp(cmd *cobra.Command, _ []string) error {
	in, closeLog, err := a.prepare(cmd, true)
	if err != nil {
		return err
	}
	defer closeLog()
	ctx, cancel := context.WithTimeout(cmd.Context(), in.Options.Timeout)
	defer cancel()
	sink := a.sink(in.Options)

	// The doctor runs before the state is opened: if it fails, nothing at
	// all was created, not even the state dir.
	doc, err := bootstrap.DoctorPlan(in)
	if err != nil {
		return err
	}
	if err := a.runner(in, sink, nil).Run(ctx, doc); err != nil {
		return err
	}

	store, err := state.Open(in.Options.StateDir)
	if err != nil {
		return err
	}
	defer store.Close()
	in.Store = store
	plan, err := bootstrap.UpPlan(in)
	if err != nil {
		return err
	}
	if err := a.runner(in, sink, store).Run(ctx, plan); err != nil {
		return err
	}
	if in.Options.Output == "text" {
		fmt.Fprintf(a.env.Stdout, "\nPocketIDP %s is up.\n  Gitea:  %s (login %s / %s)\n  state:  %s\n  log:    %s\n",
			store.InstallID(), in.Options.GiteaURL(), in.Options.GiteaAdmin, a.redactor.Redact(in.Options.GiteaAdminPassword.Reveal()), store.Path(), a.logPath)
	}
	return nil
}

func (a *app) runDown(cmd *cobra.Command, _ []string) error {
	in, closeLog, err := a.prepare(cmd, false)
	if err != nil {
		return err
	}
	defer closeLog()
	if _, err := state.Read(in.Options.StateDir); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(a.env.Stdout, "Nothing to remove: no install in %s.\n", in.Options.StateDir)
		return nil
	} else if err != nil {
		return err
	}
	if !in.Options.Yes {
		if in.Options.Headless {
			return &config.InputError{Msg: "down removes the install and nothing can ask for confirmation here", Hint: "pass --yes to confirm"}
		}
		ok, err := confirm(a.env.Stdin, a.env.Stdout, fmt.Sprintf("Remove the PocketIDP install in %s? [y/N] ", in.Options.StateDir))
		if err != nil || !ok {
			fmt.Fprintln(a.env.Stdout, "Nothing removed.")
			return err
		}
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), in.Options.Timeout)
	defer cancel()
	store, err := state.Open(in.Options.StateDir)
	if err != nil {
		return err
	}
	defer store.Close()
	in.Store = store
	plan, err := bootstrap.DownPlan(in)
	if err != nil {
		return err
	}
	if err := a.runner(in, a.sink(in.Options), store).Undo(ctx, plan); err != nil {
		return err
	}
	if err := store.Remove(); err != nil {
		return err
	}
	if in.Options.Output == "text" {
		fmt.Fprintln(a.env.Stdout, "\nPocketIDP is down: everything this install created is removed.")
	}
	return nil
}

func confirm(in io.Reader, out io.Writer, question string) (bool, error) {
	fmt.Fprint(out, question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes", nil
}

func (a *app) runDoctor(cmd *cobra.Command, _ []string) error {
	o, err := a.options(cmd)
	if err != nil {
		return err
	}
	results := doctor.Run(cmd.Context(), a.env.Host, o)
	if o.Output == "json" {
		if err := writeJSON(a.env.Stdout, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			fmt.Fprintf(a.env.Stdout, "%-4s  %-10s %s\n", r.Status, r.Check, r.Found)
			if r.Fix != "" && r.Status != doctor.OK {
				fmt.Fprintf(a.env.Stdout, "      %-10s fix: %s\n", "", r.Fix)
			}
		}
	}
	var errs []error
	for _, r := range results {
		if err := r.Err(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Check, err))
		}
	}
	return errors.Join(errs...)
}

func (a *app) runStatus(cmd *cobra.Command, _ []string) error {
	o, err := a.options(cmd)
	if err != nil {
		return err
	}
	f, err := state.Read(o.StateDir)
	if errors.Is(err, os.ErrNotExist) {
		if o.Output == "json" {
			return writeJSON(a.env.Stdout, map[string]any{"installed": false, "state_dir": o.StateDir})
		}
		fmt.Fprintf(a.env.Stdout, "No install in %s: run `pocketidp up`.\n", o.StateDir)
		return nil
	}
	if err != nil {
		return err
	}
	if o.Output == "json" {
		return writeJSON(a.env.Stdout, map[string]any{"installed": true, "state_dir": o.StateDir, "state": f})
	}
	fmt.Fprintf(a.env.Stdout, "install %s (created %s)\n  Gitea: %s\n", f.InstallID, f.CreatedAt.Format("2006-01-02 15:04"), f.Options.GiteaURL())
	for _, s := range slices.Sorted(maps.Keys(f.Steps)) {
		fmt.Fprintf(a.env.Stdout, "  %-28s %s\n", s, f.Steps[s].Status)
	}
	return nil
}

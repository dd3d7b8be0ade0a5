package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/state"
	"github.com/pocketidp/pocketidp/internal/tui"
)

// runDown is `pocketidp down`: what to remove (asked, or all with --yes),
// then the down plan.
func (a *app) runDown(cmd *cobra.Command, _ []string) error {
	in, closeLog, err := a.prepare(cmd, false)
	if err != nil {
		return err
	}
	defer closeLog()
	if _, err := state.Read(in.Options.StateDir); errors.Is(err, os.ErrNotExist) {
		if in.Options.Output == "text" {
			fmt.Fprintf(a.env.Stdout, "Nothing to remove: no install in %s.\n", in.Options.StateDir)
		}
		return nil
	} else if err != nil {
		return err
	}
	if a.flags.forget {
		// Explicit, and it touches nothing outside the state dir: no
		// confirmation, no cluster, no Humanitec.
		store, err := state.Open(in.Options.StateDir)
		if err != nil {
			return err
		}
		defer store.Close()
		in.Store = store
		return a.forget(in, store)
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), in.Options.Timeout)
	defer cancel()
	mode := a.mode()
	if !in.Options.Yes && !mode.Asks() {
		return &config.InputError{Msg: "down removes the install and nothing can ask for confirmation here", Hint: "pass --yes to confirm"}
	}
	store, err := state.Open(in.Options.StateDir)
	if err != nil {
		return err
	}
	defer store.Close()
	in.Store = store
	if err := bootstrap.DownCheck(ctx, in); err != nil {
		return withForgetHint(err)
	}

	removeState := !in.LeavesHumanitec()
	down := func(ctx context.Context, sink bootstrap.Sink) (*tui.Summary, error) {
		a.started = true
		plan, err := bootstrap.DownPlan(in)
		if err != nil {
			return nil, err
		}
		if err := a.runner(in, sink, store).Undo(ctx, plan); err != nil {
			return nil, withForgetHint(err)
		}
		if !removeState {
			return nil, nil
		}
		return nil, store.Remove()
	}
	downPlain := func(done string) error {
		if _, err := down(ctx, a.sink(in.Options)); err != nil {
			return err
		}
		if in.Options.Output == "text" {
			fmt.Fprintln(a.env.Stdout, "\n"+done)
		}
		return nil
	}
	items := teardownItems(ctx, in, a.flags.includeTutorial)
	if !mode.Asks() || in.Options.Yes {
		if in.Options.Output == "text" {
			fmt.Fprint(a.env.Stdout, a.redactor.Redact(tui.TeardownList(items)))
		} else {
			listEvents(a.sink(in.Options), items, a.env.Now())
		}
		if _, removeState, err = applySelection(in, items, checked(items)); err != nil {
			return err
		}
		return downPlain(downDone(in))
	}

	chosen, err := tui.RunTeardown(ctx, tui.TeardownInput{
		Items: items, Accessible: mode == tui.Accessible, In: a.env.Stdin, Out: a.env.Stdout,
		ProgramOptions: a.programOptions(),
	})
	if errors.Is(err, tui.ErrAborted) {
		return fmt.Errorf("%w: %w", context.Canceled, err)
	}
	if err != nil {
		return err
	}
	anything, rm, err := applySelection(in, items, chosen)
	if err != nil {
		return err
	}
	if !anything {
		fmt.Fprintln(a.env.Stdout, "Nothing selected: nothing removed.")
		return nil
	}
	if rm && len(chosen) == 1 {
		// "Local state" alone: forget the install, touch nothing else.
		return a.forget(in, store)
	}
	removeState = rm
	if mode == tui.Accessible {
		return downPlain("Done: what you chose is removed.")
	}
	return tui.RunProgress(ctx, tui.ProgressInput{
		Title: "removing " + in.Options.Name, LogPath: a.logPath, Resume: "pocketidp down", Undo: true,
		Run: down, ProgramOptions: a.programOptions(),
	})
}

// downDone is the last line of a `down` that removed all it was asked to.
func downDone(in *bootstrap.Install) string {
	if in.LeavesHumanitec() {
		return "PocketIDP is down, except this install's Humanitec objects (--skip-humanitec): they stay, and so does " +
			"the state that lists them. Run `pocketidp down` with HUMANITEC_ORG and HUMANITEC_TOKEN set to remove them."
	}
	return "PocketIDP is down: everything this install created is removed."
}

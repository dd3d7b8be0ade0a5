package tui

import (
	"context"
	"errors"
	"fmt"
	"os"

	"charm.land/huh/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/secret"
)

// maxCheckAttempts bounds how often the accessible wizard asks again after
// Humanitec refused the credentials; then it stops with the answer.
const maxCheckAttempts = 3

// runAccessibleWizard asks the same questions as the full-screen wizard with
// huh's accessible prompts: one plain line at a time, no cursor movement, so
// screen readers and TERM=dumb terminals can follow. The pages, checks and
// rules are the wizard model's own.
func runAccessibleWizard(ctx context.Context, in WizardInput) (config.Options, error) {
	w, r := in.Out, in.In
	if w == nil {
		w = os.Stdout
	}
	if r == nil {
		r = os.Stdin
	}
	// huh styles its prompts; a pipe, a file or TERM=dumb gets them plain.
	w = colorprofile.NewWriter(w, os.Environ())
	m := newWizardModel(ctx, in, false)
	m.accessible = true
	say := func(s string) { _ = Print(w, os.Environ(), m.redactor.Redact(s)) }
	ask := func(groups ...*huh.Group) error {
		f := huh.NewForm(groups...).WithAccessible(true).WithInput(r).WithOutput(w)
		if err := f.RunWithContext(ctx); err != nil {
			if errors.Is(err, huh.ErrUserAborted) {
				return ErrAborted
			}
			return fmt.Errorf("wizard: %w", err)
		}
		return ctx.Err()
	}

	say("PocketIDP setup\n\n" + welcomeText(m.opts, maxCardWidth) + "\n")
	for {
		if !m.opts.SkipHumanitec {
			if err := askCredentials(ctx, m, ask, say); err != nil {
				return m.opts, err
			}
		}
		m.loadSettings(true)
		say("\n" + settingsText(m.opts))
		if err := ask(m.keepGroup()); err != nil {
			return m.opts, err
		}
		if !m.v.keep {
			if err := ask(m.editGroups()...); err != nil {
				return m.opts, err
			}
		}
		needCreds := m.applySettings()
		if needCreds {
			continue
		}
		if m.settingsErr != nil {
			say("Not valid: " + m.settingsErr.Error())
			continue
		}
		if in.Refresh != nil {
			say("Checking the machine for these settings…")
			m.doctor, m.plan = in.Refresh(ctx, m.opts)
		}
		say("\n" + reviewText(m.opts, m.doctor, m.plan, maxCardWidth))
		m.v.create = true
		if err := ask(huhGroup(m.reviewField())); err != nil {
			return m.opts, err
		}
		switch m.choice() {
		case choiceCreate:
			return m.opts, nil
		case choiceQuit:
			return m.opts, m.doctorFailed()
		}
	}
}

func huhGroup(f huh.Field) *huh.Group { return huh.NewGroup(f) }

// askCredentials asks for org and token until Humanitec accepts them, the
// user leaves both empty (skip), or maxCheckAttempts answers were refused.
func askCredentials(ctx context.Context, m *wizardModel, ask func(...*huh.Group) error, say func(string)) error {
	for attempt := 1; ; attempt++ {
		m.v.org, m.v.token = m.opts.HumanitecOrg, ""
		if err := ask(m.credentialsGroup()); err != nil {
			return err
		}
		org, tok, check := m.applyCredentials()
		if !check {
			return nil
		}
		say("Checking org " + org + " and the token with Humanitec…")
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		err := m.in.Check(cctx, org, tok)
		cancel()
		if err == nil {
			say(iconDone + " Humanitec accepted them.")
			return nil
		}
		say(m.checkMessage(err))
		if !refused(err) {
			// No answer is not a no: the token is kept, and the run's own
			// check tries again when it starts.
			if attempt == maxCheckAttempts {
				return err
			}
			continue
		}
		m.opts.HumanitecToken = secret.Value{}
		if attempt == maxCheckAttempts {
			return &config.InputError{
				Msg:  "Humanitec did not accept org " + org + " and the token: " + m.redactor.Redact(err.Error()),
				Hint: "check HUMANITEC_ORG and the token of a service user with the Administrator role",
			}
		}
	}
}

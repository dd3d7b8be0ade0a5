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
	env := m.env
	env.accessible = true
	say := func(s string) { _ = Print(w, os.Environ(), env.redactor.Redact(s)) }
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
	// keep preselects "Keep": not after settings that were not valid.
	keep := true
	for {
		if !m.opts.SkipHumanitec {
			o, err := askCredentials(ctx, env, m.opts, ask, say)
			m.opts = o
			if err != nil {
				return m.opts, err
			}
		}
		sp := newSettingsPage(env, m.opts, keep)
		say("\n" + settingsText(m.opts))
		if err := ask(sp.group()); err != nil {
			return m.opts, err
		}
		var r settingsReport
		if sp.keep {
			r = sp.v.apply(m.opts)
		} else {
			ep := newSettingsEditPage(env, m.opts, nil)
			if err := ask(ep.groups()...); err != nil {
				return m.opts, err
			}
			r = ep.v.apply(m.opts)
		}
		m.opts, keep = r.opts, r.err == nil
		if r.needCreds {
			continue
		}
		if r.err != nil {
			say("Not valid: " + r.err.Error())
			continue
		}
		if in.Refresh != nil {
			say("Checking the machine for these settings…")
			m.doctor, m.plan = in.Refresh(ctx, m.opts)
		}
		say("\n" + reviewText(m.opts, m.doctor, m.plan, maxCardWidth))
		rp := newReviewPage(env, m.opts, m.doctor, m.plan)
		if err := ask(huh.NewGroup(rp.field())); err != nil {
			return m.opts, err
		}
		switch rp.choice() {
		case choiceCreate:
			return m.opts, nil
		case choiceQuit:
			return m.opts, doctorFailed(m.doctor)
		}
	}
}

// askCredentials asks for org and token until Humanitec accepts them, the
// user leaves both empty (skip), or maxCheckAttempts answers were refused.
// It returns the options with the credentials taken in.
func askCredentials(ctx context.Context, env *wizardEnv, o config.Options, ask func(...*huh.Group) error, say func(string)) (config.Options, error) {
	for attempt := 1; ; attempt++ {
		p := newCredentialsPage(env, o, nil)
		if err := ask(p.group()); err != nil {
			return o, err
		}
		r := p.apply()
		o = r.opts
		if !r.check {
			return o, nil
		}
		org, tok := o.HumanitecOrg, o.HumanitecToken
		say("Checking org " + org + " and the token with Humanitec…")
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		err := env.in.Check(cctx, org, tok)
		cancel()
		if err == nil {
			say(iconDone + " Humanitec accepted them.")
			return o, nil
		}
		say(checkMessage(env.redactor, err))
		if !refused(err) {
			// No answer is not a no: the token is kept, and the run's own
			// check tries again when it starts.
			if attempt == maxCheckAttempts {
				return o, err
			}
			continue
		}
		o.HumanitecToken = secret.Value{}
		if attempt == maxCheckAttempts {
			return o, &config.InputError{
				Msg:  "Humanitec did not accept org " + org + " and the token: " + env.redactor.Redact(err.Error()),
				Hint: "check HUMANITEC_ORG and the token of a service user with the Administrator role",
			}
		}
	}
}
